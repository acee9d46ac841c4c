import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors.js';
import { decide } from '../../src/policy/decide.js';
import { isPinned, type ParamFacts, type RunFacts } from '../../src/policy/facts.js';
import { loadPolicy } from '../../src/policy/policy-file.js';
import { tempDir } from '../helpers/cli.js';

const param = (over: Partial<ParamFacts> = {}): ParamFacts => ({
  task: 'train',
  name: 'data_dir',
  io: 'input',
  type: 'directory',
  path: '/ws/data',
  read_only: true,
  exists: true,
  sha256: 'a'.repeat(64),
  terms: {},
  config: null,
  ...over,
});

/** A plan DEPA's contract allows: read-only data, no network, a pinned image, terms in force. */
const facts = (over: Partial<RunFacts> = {}): RunFacts => {
  const data = param({ terms: { purpose: 'training', expires: '2099-12-31T23:59:59Z', private_training: true } });
  const config = param({ name: 'train_config', type: 'file', path: '/ws/train.yaml', config: { privacy: { noise_multiplier: 1.1 } } });
  return {
    cube: { name: 'mnist', file: '/cube/mlcube.yaml' },
    platform: 'docker',
    runner: 'docker',
    image: { reference: `sha256:${'b'.repeat(64)}`, digest: `sha256:${'b'.repeat(64)}`, pinned: true },
    network: 'none',
    tasks: [{ name: 'train', waits_for: [], gates: [] }],
    parameters: [data, config, param({ name: 'model_dir', io: 'output', read_only: false, sha256: null })],
    datasets: [data],
    now: '2026-12-01T12:00:00.000Z',
    ...over,
  };
};

describe('policy gate core (src/policy: CEL rules over the run plan, fail closed)', () => {
  let dir: { dir: string; cleanup: () => void };
  beforeEach(() => (dir = tempDir('mlcube-policy-')));
  afterEach(() => dir.cleanup());
  const policyFile = (text: string) => {
    const f = join(dir.dir, 'policy.yaml');
    writeFileSync(f, text);
    return f;
  };
  const depa = () => loadPolicy(join(process.cwd(), 'cubes', 'mnist', 'depa-policy.yaml'));

  it("the MNIST cube's DEPA policy allows a plan that keeps the contract, every rule passed", () => {
    const d = decide(depa(), facts());
    expect(d.decision).to.equal('allow');
    expect(d.rules.every((r) => r.outcome === 'passed' && r.reason === null)).to.equal(true);
    expect(d.sha256).to.match(/^[0-9a-f]{64}$/);
  });

  const DENIALS: { what: string; facts: RunFacts; rules: string[] }[] = [
    { what: 'host network', facts: facts({ network: 'host' }), rules: ['no_network'] },
    { what: "the runner's default network", facts: facts({ network: null }), rules: ['no_network'] },
    { what: 'an image by tag', facts: facts({ image: { reference: 'mlcube/mnist-ts:0.1.0', digest: `sha256:${'b'.repeat(64)}`, pinned: false } }), rules: ['image_pinned_by_digest'] },
    { what: 'no image at all (a host runner)', facts: facts({ image: null, network: 'host' }), rules: ['no_network', 'image_pinned_by_digest'] },
    { what: 'a writable input', facts: facts({ parameters: facts().parameters.map((p, i) => (i === 0 ? { ...p, read_only: false } : p)) }), rules: ['datasets_read_only'] },
    {
      what: 'expired terms',
      facts: facts({ datasets: [param({ terms: { expires: '2026-11-30T23:59:59Z' } })] }),
      rules: ['terms_not_expired'],
    },
    { what: 'another purpose', facts: facts({ datasets: [param({ terms: { purpose: 'marketing' } })] }), rules: ['purpose_is_training'] },
    {
      what: 'private training asked, no privacy section',
      facts: facts({ parameters: [param()], datasets: [param({ terms: { private_training: true } })] }),
      rules: ['private_training_where_asked'],
    },
  ];
  for (const row of DENIALS) {
    it(`denies ${row.what}, naming exactly the rules that failed`, () => {
      const d = decide(depa(), row.facts);
      expect(d.decision).to.equal('deny');
      expect(d.rules.filter((r) => r.outcome === 'failed').map((r) => r.name)).to.deep.equal(row.rules);
      for (const r of d.rules.filter((x) => x.outcome === 'failed')) expect(r.reason).to.be.a('string').and.not.equal('');
    });
  }

  const CLOSED: { what: string; require: string; reason: RegExp }[] = [
    { what: 'a field that is not there', require: 'run.nope == 1', reason: /could not be evaluated: No such key: nope/ },
    { what: 'a value that is not a boolean', require: 'run.platform', reason: /gave "docker", not a boolean/ },
    { what: 'a number', require: 'size(run.tasks)', reason: /gave 1, not a boolean/ },
    { what: 'null', require: 'run.image.digest == null ? null : null', reason: /not a boolean/ },
    { what: 'false', require: 'false', reason: /requires false/ },
  ];
  for (const row of CLOSED) {
    it(`fails closed on ${row.what}`, () => {
      const d = decide(loadPolicy(policyFile(`rules:\n  - name: r\n    require: '${row.require}'\n`)), facts());
      expect(d.decision).to.equal('deny');
      expect(d.rules[0].reason).to.match(row.reason);
    });
  }

  const BAD: { what: string; text: string; message: RegExp; line: number }[] = [
    { what: 'a CEL syntax error', text: 'rules:\n  - name: ok\n    require: "true"\n  - name: broken\n    require: "run.a +"\n', message: /rule "broken": the CEL expression does not parse/, line: 5 },
    { what: 'an unknown key', text: 'rules:\n  - name: r\n    requires: "true"\n', message: /breaks the schema/, line: 3 },
    { what: 'no rules', text: 'name: empty\nrules: []\n', message: /breaks the schema/, line: 2 },
    { what: 'two rules of one name', text: 'rules:\n  - {name: r, require: "true"}\n  - {name: r, require: "false"}\n', message: /names two rules "r"/, line: 3 },
  ];
  for (const row of BAD) {
    it(`a policy with ${row.what} is a located error (exit 2)`, () => {
      const f = policyFile(row.text);
      let err: unknown;
      try {
        loadPolicy(f);
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(ConfigError);
      expect((err as ConfigError).message).to.match(row.message);
      expect((err as ConfigError).place).to.include({ file: f, line: row.line });
    });
  }

  it('pinned: a registry digest or the image id; a tag is not', () => {
    const hex = 'c'.repeat(64);
    expect([`me/x@sha256:${hex}`, `sha256:${hex}`, 'me/x:1.0', `me/x:sha256-${hex}`, `sha256:${hex.slice(1)}`].map(isPinned)).to.deep.equal([true, true, false, false, false]);
  });
});
