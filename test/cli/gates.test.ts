import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalize } from '../../src/provenance/canonical-json.js';
import { signEnvelope } from '../../src/provenance/dsse.js';
import { loadPrivateKey } from '../../src/provenance/keys.js';
import { buildStatement } from '../../src/provenance/statement.js';
import { readManifests } from '../../src/provenance/store.js';
import { copyFixture, mlcube, readJson, snapshot, tempDir } from '../helpers/cli.js';

const GATES = ['accuracy', 'f1', 'worst_class', 'model_size', 'artifacts_size'];

/** The fixture cube `gates` (a metric row, a JSON report, a model file, an artifacts directory), run on the local runner. */
describe('release gates on a fixture cube (test/fixtures/cubes/gates): pass, fail, -P overrides, fail closed, signed, verified', function () {
  let keys: { dir: string; cleanup: () => void };
  let env: Record<string, string>;
  before(async () => {
    keys = tempDir('mlcube-gate-keys-');
    expect((await mlcube(['keys', 'generate', `--dir=${keys.dir}`])).exitCode).to.equal(0);
    env = { MLCUBE_SIGNING_KEY: join(keys.dir, 'signing.key') };
  });
  after(() => keys.cleanup());

  const withCube = async (fn: (cube: string) => Promise<void>) => {
    const c = copyFixture('gates');
    try {
      await fn(c.dir);
    } finally {
      c.cleanup();
    }
  };
  const run = (cube: string, args: string[], extra: Record<string, string> = {}) =>
    mlcube(['run', `--mlcube=${cube}`, '--platform=local', ...(args.some((a) => a.startsWith('--task=')) ? [] : ['--task=score,publish']), ...args], { env: { ...env, ...extra } });
  const runDirs = (cube: string, task: string) => {
    const runs = join(cube, 'workspace', '.mlcube', 'runs');
    return existsSync(runs)
      ? readdirSync(runs)
          .filter((d) => d.includes(`-${task}-`))
          .map((d) => join(runs, d))
      : [];
  };
  const statementOf = (dir: string) => JSON.parse(Buffer.from(readJson(join(dir, 'provenance.dsse.json')).payload, 'base64').toString('utf8'));
  const releaseOf = (dir: string) => statementOf(dir).predicate.runDetails.byproducts.find((b: { name: string }) => b.name === 'release-gates');
  const verify = (cube: string, dir: string) => mlcube(['provenance', 'verify', dir, `--mlcube=${cube}`], { env });

  it('every gate passes as written: the run goes on, the record and the signed statement say passed, verify re-checks it', () =>
    withCube(async (cube) => {
      const r = await run(cube, []);
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(r.stderr).to.match(/task "score": release gates passed: accuracy \(metric accuracy = 0\.95 >= 0\.9\), f1 \(report key scores\.f1 = 0\.8 > 0\.5\)/);
      expect(runDirs(cube, 'publish')).to.have.length(1);
      const [dir] = runDirs(cube, 'score');
      const rec = readJson(join(dir, 'record.json'));
      expect([rec.status, rec.exit_code, rec.gates.release]).to.deep.equal(['succeeded', 0, 'passed']);
      expect(rec.gates.results.map((g: { name: string; outcome: string }) => `${g.name}:${g.outcome}`)).to.deep.equal(GATES.map((g) => `${g}:passed`));
      // The highest step's value (0.95), not the last row written (0.8); sizes in bytes, 2kB and 1KiB as bytes.
      expect(rec.gates.results.map((g: { value: number; threshold: number }) => [g.value, g.threshold])).to.deep.equal([
        [0.95, 0.9],
        [0.8, 0.5],
        [0.7, 0.5],
        [2000, 2000],
        [1000, 1024],
      ]);
      expect(releaseOf(dir).annotations).to.deep.equal({ release: 'passed', gates: rec.gates.results });
      const v = await verify(cube, dir);
      expect(v.exitCode, v.stderr).to.equal(0);
      expect(v.stdout).to.contain('note: release: passed (gates accuracy, f1, worst_class, model_size, artifacts_size, re-checked from the record)');
      // A task without gates gets no decision in its record or statement.
      const [pub] = runDirs(cube, 'publish');
      expect(readJson(join(pub, 'record.json'))).to.not.have.property('gates');
      expect(releaseOf(pub)).to.equal(undefined);
    }));

  it('a threshold overridden so it must fail: exit 7 listing every gate, the next task not started, the record and the statement say failed, verify says why', () =>
    withCube(async (cube) => {
      const r = await run(cube, ['-Ptasks.score.gates.accuracy.min=0.999']);
      expect(r.exitCode, r.stderr).to.equal(7);
      expect(r.stderr).to.match(/MLCUBE_GATE_FAILED: task "score": release gates failed \(1 of 5\); not run: publish:/);
      expect(r.stderr).to.contain('FAILED accuracy: metric accuracy = 0.95, not >= 0.999');
      for (const line of [
        'passed f1: report key scores.f1 = 0.8 > 0.5',
        'passed worst_class: report key scores.per_class.1 = 0.7 >= 0.5',
        'passed model_size: size of model = 2 kB (2,000 bytes) <= 2 kB (2,000 bytes)',
        'passed artifacts_size: size of artifacts = 1 kB (1,000 bytes) < 1.024 kB (1,024 bytes)',
      ])
        expect(r.stderr).to.contain(line);
      expect(r.stderr).to.contain('fix: Improve what the failed gate measures; to accept it as it is, override the threshold: -Ptasks.score.gates.accuracy.min=<value>');
      expect(r.stderr).to.not.match(/at .*\.js:\d+/); // no stack trace
      expect(runDirs(cube, 'publish'), 'publish did not start').to.deep.equal([]);
      expect(existsSync(join(cube, 'workspace', 'published.txt'))).to.equal(false);
      const [dir] = runDirs(cube, 'score');
      const rec = readJson(join(dir, 'record.json'));
      expect([rec.status, rec.exit_code, rec.gates.release]).to.deep.equal(['failed', 7, 'failed']);
      expect(rec.error).to.contain('FAILED accuracy: metric accuracy = 0.95, not >= 0.999');
      expect(rec.gates.results[0]).to.deep.equal({
        name: 'accuracy',
        kind: 'metric',
        source: 'accuracy',
        key: null,
        op: '>=',
        threshold: 0.999,
        value: 0.95,
        outcome: 'failed',
        reason: 'metric accuracy = 0.95, not >= 0.999',
      });
      expect(rec.signature, 'signed although it failed').to.not.equal(null);
      expect(releaseOf(dir).annotations).to.deep.equal({ release: 'failed', gates: rec.gates.results });
      expect(statementOf(dir).predicate.runDetails.byproducts[0].annotations).to.deep.equal({ exit_code: 7, status: 'failed' });
      // Verify: the record and the statement agree; the one problem is the release decision itself.
      const v = await verify(cube, dir);
      expect(v.exitCode).to.equal(5);
      expect(v.stderr).to.match(/\(1 problem;/);
      expect(v.stderr).to.contain('release: the run failed its release gates: accuracy (metric accuracy = 0.95, not >= 0.999)');
      const list = await mlcube(['runs', 'list', `--mlcube=${cube}`, '--json']);
      expect(JSON.parse(list.stdout).runs.map((x: { status: string }) => x.status)).to.deep.equal(['failed']);
    }));

  it('run --json: the gated task is failed with exit code 7 and release failed, as its record says; the error is MLCUBE_GATE_FAILED', () =>
    withCube(async (cube) => {
      const passed = JSON.parse((await run(cube, ['--task=score', '--json'])).stdout);
      expect(passed.tasks.map((t: any) => [t.status, t.exit_code, t.release])).to.deep.equal([['succeeded', 0, 'passed']]);
      const r = await run(cube, ['--task=score', '--json', '-Ptasks.score.gates.accuracy.min=0.999']);
      expect(r.exitCode, r.stderr).to.equal(7);
      const doc = JSON.parse(r.stdout);
      expect(doc.tasks.map((t: any) => [t.task, t.status, t.exit_code, t.release])).to.deep.equal([['score', 'failed', 7, 'failed']]);
      expect(doc.error).to.include({ code: 'MLCUBE_GATE_FAILED', exit_code: 7, task: 'score' });
      const rec = readJson(
        join(
          runDirs(cube, 'score').find((d) => d.endsWith(doc.tasks[0].run_id))!,
          'record.json',
        ),
      );
      expect([rec.status, rec.exit_code]).to.deep.equal(['failed', 7]);
      // Unrecorded, the gates hook gives the task its metrics file and output streams: stdout stays the document's.
      const off = await run(cube, ['--task=score', '--json'], { MLCUBE_RECORD: 'off' });
      expect(JSON.parse(off.stdout).tasks.map((t: any) => [t.status, t.release])).to.deep.equal([['succeeded', 'passed']]);
      expect(off.stderr).to.contain('score: scored');
    }));

  it('-P overrides: a size threshold with a unit, the boundary of max, an operator swapped', () =>
    withCube(async (cube) => {
      const r = await run(cube, ['--task=score', '-Ptasks.score.gates.model_size.max=1999', '-Ptasks.score.gates.artifacts_size.below=1kB']);
      expect(r.exitCode, r.stderr).to.equal(7);
      expect(r.stderr).to.contain('release gates failed (2 of 5)');
      expect(r.stderr).to.contain('FAILED model_size: size of model = 2 kB (2,000 bytes), not <= 1.999 kB (1,999 bytes)');
      expect(r.stderr).to.contain('FAILED artifacts_size: size of artifacts = 1 kB (1,000 bytes), not < 1 kB (1,000 bytes)');
      const ok = await run(cube, ['--task=score', '-Ptasks.score.gates.model_size.max=2.5 kB']);
      expect(ok.exitCode, ok.stderr).to.equal(0);
    }));

  it('fails closed: a metric the task never reported, a missing JSON key, a value that is no number, a missing file', () =>
    withCube(async (cube) => {
      const file = join(cube, 'mlcube.yaml');
      writeFileSync(
        file,
        readFileSync(file, 'utf8').replace(
          '      accuracy: {metric: accuracy, min: 0.9}\n',
          '      accuracy: {metric: accuracy, min: 0.9}\n      latency: {metric: latency_ms, max: 50}\n      recall: {json: report, key: scores.recall, min: 0}\n      label: {json: report, key: label, equals: 1}\n      listed: {json: artifacts/listing.json, key: count, min: 0}\n',
        ),
      );
      const r = await run(cube, ['--task=score']);
      expect(r.exitCode, r.stderr).to.equal(7);
      expect(r.stderr).to.contain('release gates failed (4 of 9)');
      expect(r.stderr).to.contain('FAILED latency: the task reported no metric "latency_ms" (it reported accuracy, loss)');
      expect(r.stderr).to.match(/FAILED recall: \S+report\.json has no key "scores\.recall" \(at scores: keys f1, per_class\)/);
      expect(r.stderr).to.contain('FAILED label: report key label is the string "ok", not a number');
      expect(r.stderr).to.match(/FAILED listed: \S+artifacts\/listing\.json is missing/);
      const rec = readJson(join(runDirs(cube, 'score')[0], 'record.json'));
      expect(rec.gates.results.filter((g: { outcome: string }) => g.outcome === 'failed').map((g: { name: string; value: unknown }) => [g.name, g.value])).to.deep.equal([
        ['latency', null],
        ['recall', null],
        ['label', null],
        ['listed', null],
      ]);
    }));

  it('with MLCUBE_RECORD=off the gates are still evaluated, from a metrics file the runtime gives the task', () =>
    withCube(async (cube) => {
      const ok = await run(cube, [], { MLCUBE_RECORD: 'off' });
      expect(ok.exitCode, ok.stderr).to.equal(0);
      expect(ok.stderr).to.contain('release gates passed: accuracy (metric accuracy = 0.95 >= 0.9)');
      const bad = await run(cube, ['-Ptasks.score.gates.accuracy.min=0.96'], { MLCUBE_RECORD: 'off' });
      expect(bad.exitCode, bad.stderr).to.equal(7);
      expect(bad.stderr).to.contain('FAILED accuracy: metric accuracy = 0.95, not >= 0.96');
      expect(existsSync(join(cube, 'workspace', '.mlcube', 'runs')), 'no records').to.equal(false);
    }));

  it('errors in gates are located (file:line:col or the -P override) and change nothing (exit 2)', () =>
    withCube(async (cube) => {
      await run(cube, ['--task=score']);
      const before = snapshot(join(cube, 'workspace'));
      const file = join(cube, 'mlcube.yaml');
      const original = readFileSync(file, 'utf8');
      const cases: [string, string[], RegExp][] = [
        [
          'a threshold that is no number',
          ['accuracy: {metric: accuracy, min: 0.9}', 'accuracy: {metric: accuracy, min: high}'],
          /mlcube\.yaml:16:41: .*\/tasks\/score\/gates\/accuracy\/min must be number/,
        ],
        [
          'an unknown key in a gate',
          ['f1: {json: report,', 'f1: {jsn: report,'],
          /mlcube\.yaml:17:12: .*\/tasks\/score\/gates\/f1\/jsn is not a known key here \(allowed: metric, json, key, size, min, max, above, below, equals, description\)/,
        ],
        ['two operators', ['model_size: {size: model, max: 2kB}', 'model_size: {size: model, max: 2kB, min: 1}'], /mlcube\.yaml:19:\d+: task "score", gate "model_size": has 2 operators \(min, max\)/],
        [
          'a parameter the task does not have',
          ['{size: artifacts,', '{size: artefacts,'],
          /mlcube\.yaml:20:\d+: task "score", gate "artifacts_size": size: "artefacts" names no parameter of the task \(parameters: model, report, artifacts\)/,
        ],
      ];
      for (const [what, [from, to], re] of cases) {
        writeFileSync(file, original.replace(from, to));
        const r = await run(cube, ['--task=score']);
        expect(r.exitCode, what).to.equal(2);
        expect(r.stderr, what).to.match(re);
      }
      writeFileSync(file, original);
      const viaP = await run(cube, ['--task=score', '-Ptasks.score.gates.accuracy.above=0.5']);
      expect(viaP.exitCode).to.equal(2);
      expect(viaP.stderr).to.match(/-P tasks\.score\.gates\.accuracy\.above=0\.5: task "score", gate "accuracy": has 2 operators \(min, above\)/);
      const newGate = await run(cube, ['--task=score', '-Ptasks.score.gates.extra.min=1']);
      expect(newGate.exitCode).to.equal(2);
      expect(newGate.stderr).to.match(/-P tasks\.score\.gates\.extra\.min=1: key "tasks\.score\.gates\.extra\.min" matches nothing/);
      expect(snapshot(join(cube, 'workspace'))).to.deep.equal(before);
    }));

  it('attacks: editing the gate result in the record, or the release decision in the statement, or re-signing a record whose decision its data contradict, fails verify', () =>
    withCube(async (cube) => {
      expect((await run(cube, ['--task=score'])).exitCode).to.equal(0);
      const [passed] = runDirs(cube, 'score');
      expect((await verify(cube, passed)).exitCode).to.equal(0);
      const recFile = join(passed, 'record.json');
      const envFile = join(passed, 'provenance.dsse.json');
      const rec = readFileSync(recFile, 'utf8');
      const envelope = readFileSync(envFile, 'utf8');

      // 1. The record's gate result edited.
      const forged = JSON.parse(rec);
      forged.gates.results[3].value = 1500;
      writeFileSync(recFile, JSON.stringify(forged, null, 2));
      let v = await verify(cube, passed);
      expect(v.exitCode).to.equal(5);
      expect(v.stderr).to.contain('record.json differs from the record the statement signed');
      writeFileSync(recFile, rec);

      // 2. The statement's release decision edited (the signature no longer covers it).
      const env1 = JSON.parse(envelope);
      const st = JSON.parse(Buffer.from(env1.payload, 'base64').toString('utf8'));
      st.predicate.runDetails.byproducts.find((b: { name: string }) => b.name === 'release-gates').annotations.release = 'failed';
      env1.payload = Buffer.from(JSON.stringify(st)).toString('base64');
      writeFileSync(envFile, JSON.stringify(env1));
      v = await verify(cube, passed);
      expect(v.exitCode).to.equal(5);
      expect(v.stderr).to.contain('signature: does not verify with the trusted public key');
      writeFileSync(envFile, envelope);

      // 3. A failed decision turned into a pass and re-signed with the key (a signer's bug, or the key's holder lying):
      //    the record's own metric contradicts it.
      const failing = await run(cube, ['--task=score', '-Ptasks.score.gates.accuracy.min=0.999']);
      expect(failing.exitCode).to.equal(7);
      const failedDir = runDirs(cube, 'score').find((d) => d !== passed)!;
      const lie = readJson(join(failedDir, 'record.json'));
      Object.assign(lie, { status: 'succeeded', exit_code: 0 });
      delete lie.error;
      lie.gates.release = 'passed';
      lie.gates.results[0].outcome = 'passed';
      const { manifests } = readManifests(failedDir, lie);
      const signed = signEnvelope(Buffer.from(canonicalize(buildStatement(lie, manifests)), 'utf8'), loadPrivateKey(env.MLCUBE_SIGNING_KEY));
      writeFileSync(join(failedDir, 'provenance.dsse.json'), JSON.stringify(signed));
      writeFileSync(join(failedDir, 'record.json'), JSON.stringify(lie, null, 2));
      v = await verify(cube, failedDir);
      expect(v.exitCode).to.equal(5);
      expect(v.stderr).to.contain("gates: gate accuracy is recorded passed (value 0.95), the record's own data give failed (metric accuracy = 0.95, not >= 0.999)");
      expect(v.stderr).to.contain('gates: the record says release passed, its gates give failed');
      expect(v.stderr).to.not.contain('signature:');
    }));
});
