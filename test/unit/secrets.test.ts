import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { redactSecrets, type SecretRef } from '../../src/config/secrets.js';
import { resolveTree } from '../../src/config/interpolate.js';
import type { Tree } from '../../src/config/tree.js';

const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const R = (s: string) => `<redacted sha256:${sha(s).slice(0, 16)}>`;
const ENV = { API_TOKEN: 'tok-123456', OTHER: 'other-value', PREFIX: 'pre', EMPTY: '' };

/** Redacts `raw` as `mlcube run` would: resolved with the project's resolver over ENV. */
function redact(raw: Tree, env: Record<string, string | undefined> = ENV) {
  return redactSecrets(raw, resolveTree(raw, { env }), env);
}
const get = (t: unknown, path: string) => path.split('.').reduce<any>((n, k) => n?.[k], t);

describe('secrets: run records keep no secret values (src/config/secrets.ts)', () => {
  // [what, raw config, path, expected redacted value there, expected secrets (name source path value)]
  const table: [string, Tree, string, unknown, [string, SecretRef['source'], string, string][]][] = [
    [
      'env_args map: each value',
      { docker: { env_args: { TOKEN: 'abc-secret', N: 5 } } },
      'docker.env_args',
      { TOKEN: R('abc-secret'), N: R('5') },
      [
        ['N', 'env_args', 'docker.env_args.N', '5'],
        ['TOKEN', 'env_args', 'docker.env_args.TOKEN', 'abc-secret'],
      ],
    ],
    [
      'env_args map in every runner section',
      { local: { env_args: { A: 'a1' } }, singularity: { env_args: { B: 'b1' } }, charliecloud: { env_args: { C: 'c1' } }, runner: { env_args: { A: 'a1' } } },
      'runner.env_args.A',
      R('a1'),
      [
        ['A', 'env_args', 'local.env_args.A', 'a1'],
        ['A', 'env_args', 'runner.env_args.A', 'a1'],
        ['B', 'env_args', 'singularity.env_args.B', 'b1'],
        ['C', 'env_args', 'charliecloud.env_args.C', 'c1'],
      ],
    ],
    ['env_args map value that interpolates', { name: 'n', local: { env_args: { G: 'hello ${name}' } } }, 'local.env_args.G', R('hello n'), [['G', 'env_args', 'local.env_args.G', 'hello n']]],
    [
      'env_args string (Python form), quoted value kept verbatim around it',
      { docker: { env_args: "-e TOKEN=abc-secret -e 'B=x y'" } },
      'docker.env_args',
      `-e TOKEN=${R('abc-secret')} -e 'B=${R('x y')}'`,
      [
        ['B', 'env_args', 'docker.env_args', 'x y'],
        ['TOKEN', 'env_args', 'docker.env_args', 'abc-secret'],
      ],
    ],
    [
      'cpu_args -e K=V',
      { docker: { cpu_args: '-u 0 -e TOKEN=abc-secret --ipc=host' } },
      'docker.cpu_args',
      `-u 0 -e TOKEN=${R('abc-secret')} --ipc=host`,
      [['TOKEN', 'run_args', 'docker.cpu_args', 'abc-secret']],
    ],
    ['cpu_args --env K=V', { docker: { cpu_args: '--env TOKEN=abc-secret' } }, 'docker.cpu_args', `--env TOKEN=${R('abc-secret')}`, [['TOKEN', 'run_args', 'docker.cpu_args', 'abc-secret']]],
    [
      'gpu_args --env=K=V',
      { docker: { gpu_args: '--gpus=all --env=TOKEN=abc-secret' } },
      'docker.gpu_args',
      `--gpus=all --env=TOKEN=${R('abc-secret')}`,
      [['TOKEN', 'run_args', 'docker.gpu_args', 'abc-secret']],
    ],
    ['cpu_args -eK=V', { runner: { cpu_args: '-eTOKEN=abc-secret' } }, 'runner.cpu_args', `-eTOKEN=${R('abc-secret')}`, [['TOKEN', 'run_args', 'runner.cpu_args', 'abc-secret']]],
    [
      'cpu_args value quoted apart: rewritten from its words',
      { docker: { cpu_args: '-e TOKEN="a b" --ipc=host' } },
      'docker.cpu_args',
      `-e 'TOKEN=${R('a b')}' --ipc=host`,
      [['TOKEN', 'run_args', 'docker.cpu_args', 'a b']],
    ],
    ['cpu_args -e NAME (host value, not in the config) untouched', { docker: { cpu_args: '-e HOME --ipc=host' } }, 'docker.cpu_args', '-e HOME --ipc=host', []],
    ['cpu_args with an interpolated -e value', { name: 'n', docker: { cpu_args: '-e T=${name}-x' } }, 'docker.cpu_args', `-e T=${R('n-x')}`, [['T', 'run_args', 'docker.cpu_args', 'n-x']]],
    [
      'singularity run_args --env, -e (cleanenv) is no assignment',
      { singularity: { run_args: '-e --env A=a1 --nv' } },
      'singularity.run_args',
      `-e --env A=${R('a1')} --nv`,
      [['A', 'run_args', 'singularity.run_args', 'a1']],
    ],
    ['oc.env whole string', { docker: { image: '${oc.env:API_TOKEN}' } }, 'docker.image', R('tok-123456'), [['API_TOKEN', 'oc.env', 'docker.image', 'tok-123456']]],
    [
      'oc.env embedded: only that part',
      { tasks: { t: { entrypoint: 'run --token=${oc.env:API_TOKEN} --x' } } },
      'tasks.t.entrypoint',
      `run --token=${R('tok-123456')} --x`,
      [['API_TOKEN', 'oc.env', 'tasks.t.entrypoint', 'tok-123456']],
    ],
    [
      'oc.env followed through a reference',
      { a: '${oc.env:API_TOKEN}', b: 'x-${a}' },
      'b',
      `x-${R('tok-123456')}`,
      [
        ['API_TOKEN', 'oc.env', 'a', 'tok-123456'],
        ['API_TOKEN', 'oc.env', 'b', 'tok-123456'],
      ],
    ],
    ['nested: default that is itself oc.env', { x: '${oc.env:NOT_SET_X,${oc.env:OTHER}}' }, 'x', R('other-value'), [['OTHER', 'oc.env', 'x', 'other-value']]],
    ['nested: oc.env inside a key reference', { m: { pre: 'chosen' }, x: '${m.${oc.env:PREFIX}}' }, 'x', R('chosen'), [['PREFIX', 'oc.env', 'x', 'chosen']]],
    ['the default branch (variable unset) is no secret', { name: 'n', x: '${oc.env:NOT_SET_X,fallback}', y: '${oc.env:NOT_SET_Y,${name}}' }, 'x', 'fallback', []],
    ['an empty variable is a (secret) value', { x: '[${oc.env:EMPTY,d}]' }, 'x', `[${R('')}]`, [['EMPTY', 'oc.env', 'x', '']]],
    [
      'an env_args value referenced elsewhere stays redacted there',
      { local: { env_args: { T: 'abc-secret' } }, tasks: { t: { entrypoint: 'run ${local.env_args.T}' } } },
      'tasks.t.entrypoint',
      `run ${R('abc-secret')}`,
      [
        ['T', 'env_args', 'local.env_args.T', 'abc-secret'],
        ['T', 'env_args', 'tasks.t.entrypoint', 'abc-secret'],
      ],
    ],
    [
      'an oc.env value inside env_args counts as the env_args entry',
      { local: { env_args: { T: '${oc.env:API_TOKEN}' } } },
      'local.env_args.T',
      R('tok-123456'),
      [['T', 'env_args', 'local.env_args.T', 'tok-123456']],
    ],
    [
      'an oc.env value inside a cpu_args -e',
      { docker: { cpu_args: '-e T=${oc.env:API_TOKEN} --ipc=host' } },
      'docker.cpu_args',
      `-e T=${R('tok-123456')} --ipc=host`,
      [['API_TOKEN', 'oc.env', 'docker.cpu_args', 'tok-123456']],
    ],
  ];
  for (const [what, raw, path, expected, secrets] of table) {
    it(what, () => {
      const before = structuredClone(raw);
      const r = redact(raw);
      expect(get(r.config, path)).to.deep.equal(expected);
      expect(r.secrets).to.deep.equal(
        secrets.map(([name, source, p, v]) => ({ name, source, path: p, sha256: sha(v) })).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.name < b.name ? -1 : 1)),
      );
      expect(raw, 'input not mutated').to.deep.equal(before);
    });
  }

  it('a value that also occurs elsewhere by chance is redacted only where it came from a secret source', () => {
    const raw = { name: 'abc-secret', description: 'about abc-secret', local: { env_args: { T: 'abc-secret' } }, x: '${oc.env:API_TOKEN}', y: 'tok-123456' };
    const r = redact(raw);
    expect(r.config).to.deep.equal({ name: 'abc-secret', description: 'about abc-secret', local: { env_args: { T: R('abc-secret') } }, x: R('tok-123456'), y: 'tok-123456' });
  });

  it('leaves a config without secrets as it was (a deep copy), types included', () => {
    const raw = { name: 'n', n: 3, t: true, z: null, list: ['${name}', 2], runtime: { root: '/r', workspace: '${runtime.root}/ws' }, docker: { cpu_args: '--ipc=host -u 0' } };
    const resolved = resolveTree(raw, { env: ENV });
    const r = redactSecrets(raw, resolved, ENV);
    expect(r.config).to.deep.equal(resolved);
    expect(r.config).to.not.equal(resolved);
    expect(r.secrets).to.deep.equal([]);
    expect(r.scrub('nothing to hide 1')).to.equal('nothing to hide 1');
  });

  it('is deterministic and does not mutate its inputs', () => {
    const raw = { local: { env_args: { B: 'b-value', A: 'a-value' } }, x: '${oc.env:OTHER}-${oc.env:API_TOKEN}' };
    const resolved = resolveTree(raw, { env: ENV });
    const frozen = structuredClone(resolved);
    const a = redactSecrets(raw, resolved, ENV);
    const b = redactSecrets(raw, resolved, ENV);
    expect(a.config).to.deep.equal(b.config);
    expect(a.secrets).to.deep.equal(b.secrets);
    expect(resolved).to.deep.equal(frozen);
    expect(a.config.x).to.equal(`${R('other-value')}-${R('tok-123456')}`);
  });

  it('scrubs known secret values from free text (an error message), longest first, short flags left alone', () => {
    const r = redact({ local: { env_args: { T: 'abc-secret', LONG: 'abc-secret-longer', DEBUG: '1' } } });
    expect(r.scrub('bad value abc-secret-longer / abc-secret at line 1')).to.equal(`bad value ${R('abc-secret-longer')} / ${R('abc-secret')} at line 1`);
  });

  it('redacts an interpolated value whole when the marks cannot follow it (oc.decode)', () => {
    const raw = { x: '${oc.decode:${oc.env:NUM}}', y: 'n=${oc.env:NUM}' };
    const r = redact(raw, { NUM: '42' });
    expect(r.config).to.deep.equal({ x: R('42'), y: `n=${R('42')}` });
    expect(r.secrets.map((s) => [s.name, s.path])).to.deep.equal([
      ['NUM', 'x'],
      ['NUM', 'y'],
    ]);
  });
});
