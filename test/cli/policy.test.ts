import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyFixture, mlcube, readJson, snapshot, tempDir } from '../helpers/cli.js';

/** Rules the local runner can keep (no image, no read-only mounts there): the data provider's terms. */
const TERMS_POLICY = `name: terms-only
rules:
  - name: terms_not_expired
    require: run.datasets.all(d, !has(d.terms.expires) || timestamp(d.terms.expires) > timestamp(run.now))
    message: a dataset's terms have expired
  - name: purpose_is_training
    require: run.datasets.all(d, d.terms.purpose == "training")
    message: a dataset may only be used for training
  - name: datasets_digested
    require: run.datasets.all(d, d.sha256 != null && size(d.sha256) == 64)
`;

describe('policy gate on the local runner (diamond fixture cube with dataset terms; README "Policy gate")', function () {
  this.timeout(60_000);
  let cube: { dir: string; cleanup: () => void };
  let keys: { dir: string; cleanup: () => void };
  let env: Record<string, string>;
  let policy: string;
  const ws = () => join(cube.dir, 'workspace');
  /** a's output, read by c, is a dataset with terms (written into the copy's cube file). */
  const withTerms = (expires: string, purpose = 'training') => {
    const f = join(cube.dir, 'mlcube.yaml');
    writeFileSync(
      f,
      readFileSync(f, 'utf8').replace(
        '  c:\n    parameters:\n      inputs:\n        from_a: {type: file, default: a/out.txt}',
        `  c:\n    parameters:\n      inputs:\n        from_a: {type: file, default: a/out.txt, terms: {purpose: ${purpose}, expires: "${expires}"}}`,
      ),
    );
  };
  const run = (args: string[], e = env) => mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', ...args], { env: e });

  beforeEach(async () => {
    cube = copyFixture('diamond');
    keys = tempDir('mlcube-policy-keys-');
    expect((await mlcube(['keys', 'generate', `--dir=${keys.dir}`])).exitCode).to.equal(0);
    env = { MLCUBE_SIGNING_KEY: join(keys.dir, 'signing.key') };
    policy = join(keys.dir, 'terms-policy.yaml');
    writeFileSync(policy, TERMS_POLICY);
    // a's output exists: c's dataset can be digested before c runs.
    expect((await run(['--task=a'])).exitCode).to.equal(0);
  });
  afterEach(() => {
    cube.cleanup();
    keys.cleanup();
  });

  it('allowed: the decision, the policy file digest and every rule are in the signed record, and verify says so', async () => {
    withTerms('2099-12-31');
    const r = await run(['--task=c', `--policy=${policy}`, '--json']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/policy terms-only \(--policy\): allow \(3 of 3 rules passed\)/);
    const id = JSON.parse(r.stdout).tasks[0].run_id;
    const rec = readJson(join(ws(), '.mlcube', 'runs', id, 'record.json'));
    expect(rec.policies).to.deep.equal([
      {
        decision: 'allow',
        name: 'terms-only',
        file: policy,
        sha256: createHash('sha256').update(readFileSync(policy)).digest('hex'),
        rules: ['terms_not_expired', 'purpose_is_training', 'datasets_digested'].map((name) => ({ name, outcome: 'passed', reason: null })),
      },
    ]);
    const statement = JSON.parse(Buffer.from(readJson(join(ws(), '.mlcube', 'runs', id, 'provenance.dsse.json')).payload, 'base64').toString('utf8'));
    const byproduct = statement.predicate.runDetails.byproducts.find((b: { name: string }) => b.name === 'run-policy');
    expect(byproduct.annotations.policies).to.deep.equal([{ name: 'terms-only', sha256: rec.policies[0].sha256, decision: 'allow' }]);
    const v = await mlcube(['provenance', 'verify', id, `--workspace=${ws()}`], { env });
    expect(v.exitCode, v.stdout + v.stderr).to.equal(0);
    expect(v.stdout).to.match(/policy: allowed by terms-only/);
  });

  for (const [what, expires, purpose, rule] of [
    ['an expired dataset', '2020-01-01', 'training', 'terms_not_expired'],
    ['a dataset for another purpose', '2099-12-31', 'marketing', 'purpose_is_training'],
  ] as const) {
    it(`denied for ${what}: exit 8, the rule named, nothing changed on disk (also with --json)`, async () => {
      withTerms(expires, purpose);
      const before = snapshot(cube.dir);
      const r = await run(['--task=b,c,d', `--policy=${policy}`]);
      expect(r.exitCode, r.stderr).to.equal(8);
      expect(r.stderr).to.contain(`MLCUBE_POLICY_DENIED: ${policy}: the run policy denies this run (1 rule failed):\n  terms-only (--policy): rule ${rule}: `);
      expect(r.stderr).to.not.match(/\n\s+at /);
      expect(snapshot(cube.dir)).to.deep.equal(before);
      const j = await run(['--task=b,c,d', `--policy=${policy}`, '--json']);
      expect(JSON.parse(j.stdout).error).to.include({ code: 'MLCUBE_POLICY_DENIED', exit_code: 8 });
      expect(snapshot(cube.dir)).to.deep.equal(before);
    });
  }

  it("the cube file's policy and a settings platform's both apply; --policy cannot lift them", async () => {
    withTerms('2099-12-31');
    const deny = (n: string) => `name: ${n}\nrules:\n  - {name: never, require: "false", message: ${n} allows nothing}\n`;
    writeFileSync(join(cube.dir, 'cube-policy.yaml'), deny('cube-rules'));
    const f = join(cube.dir, 'mlcube.yaml');
    writeFileSync(f, `policy: cube-policy.yaml\n${readFileSync(f, 'utf8')}`);
    writeFileSync(join(keys.dir, 'platform-policy.yaml'), deny('platform-rules'));
    const settings = join(keys.dir, 'settings.yaml');
    writeFileSync(settings, 'platforms:\n  guarded:\n    runner: local\n    policy: platform-policy.yaml\n');
    const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=guarded', '--task=c', `--policy=${policy}`], { env: { ...env, MLCUBE_SYSTEM_SETTINGS: settings } });
    expect(r.exitCode, r.stderr).to.equal(8);
    expect(r.stderr).to.contain('(2 rules failed)');
    expect(r.stderr).to.contain(`cube-rules (the cube file ${f}): rule never: cube-rules allows nothing`);
    expect(r.stderr).to.contain(`platform-rules (platform "guarded" of ${settings}): rule never: platform-rules allows nothing`);
  });

  it('a recorded decision that was altered does not verify: a rule turned failed (schema), a policy digest swapped (signature)', async () => {
    withTerms('2099-12-31');
    const r = await run(['--task=c', `--policy=${policy}`, '--json']);
    const id = JSON.parse(r.stdout).tasks[0].run_id;
    const file = join(ws(), '.mlcube', 'runs', id, 'record.json');
    const original = readFileSync(file, 'utf8');
    for (const [what, edit, problem] of [
      ['a failed rule', (x: any) => (x.policies[0].rules[0].outcome = 'failed'), /record/],
      ['another policy digest', (x: any) => (x.policies[0].sha256 = 'f'.repeat(64)), /signature|statement|digest/],
      ['no policy at all', (x: any) => delete x.policies, /signature|statement|digest/],
    ] as const) {
      const rec = JSON.parse(original);
      edit(rec);
      writeFileSync(file, JSON.stringify(rec, null, 2) + '\n');
      const v = await mlcube(['provenance', 'verify', id, `--workspace=${ws()}`], { env });
      expect(v.exitCode, `${what}: ${v.stdout}`).to.equal(5);
      expect(v.stdout + v.stderr, what).to.match(problem);
    }
    writeFileSync(file, original);
    expect((await mlcube(['provenance', 'verify', id, `--workspace=${ws()}`], { env })).exitCode).to.equal(0);
    expect(readdirSync(join(ws(), '.mlcube', 'runs')).length).to.be.greaterThan(1);
  });
});
