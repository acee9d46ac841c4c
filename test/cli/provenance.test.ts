import { expect } from 'chai';
import { appendFileSync, cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { CLI, copyFixture, FIXTURES, mlcube, readJson, tempDir } from '../helpers/cli.js';
import { expectReportRecord } from '../helpers/record-checks.js';
import { checkSchema } from '../../src/config/schemas.js';

describe('run records and signed provenance (fixture cube basic, local runner)', () => {
  let cube: { dir: string; cleanup: () => void };
  let keys: { dir: string; cleanup: () => void };
  let env: Record<string, string>;
  let ws: string;
  let ids: string[];

  const runsDir = () => join(ws, '.mlcube', 'runs');
  const verify = (id: string, extra: string[] = [], e = env) => mlcube(['provenance', 'verify', id, `--workspace=${ws}`, ...extra], { env: e });

  beforeEach(async () => {
    cube = copyFixture('basic');
    keys = tempDir('mlcube-keys-');
    ws = join(cube.dir, 'workspace');
    const g = await mlcube(['keys', 'generate', `--dir=${keys.dir}`, '--json']);
    expect(g.exitCode, g.stderr).to.equal(0);
    expect(g.stdout + g.stderr).to.not.contain('PRIVATE KEY');
    expect(statSync(join(keys.dir, 'signing.key')).mode & 0o777).to.equal(0o600);
    env = { MLCUBE_SIGNING_KEY: join(keys.dir, 'signing.key') };
    const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=copy,consume', '--json'], { env });
    expect(r.exitCode, r.stderr).to.equal(0);
    ids = JSON.parse(r.stdout).tasks.map((t: any) => t.run_id);
  });
  afterEach(() => {
    cube.cleanup();
    keys.cleanup();
  });

  it('writes a schema-valid, signed record per task, linked by digest, and an untouched run verifies', async () => {
    const [copy, consume] = ids.map((id) => readJson(join(runsDir(), id, 'record.json')));
    for (const rec of [copy, consume]) {
      expect(checkSchema('run-record.schema.json', rec)).to.deep.equal([]);
      expect(rec.status).to.equal('succeeded');
      expect(rec.exit_code).to.equal(0);
      expect(rec.signature.keyid).to.match(/^[0-9a-f]{64}$/);
    }
    expect(copy.parameters.find((p: any) => p.name === 'out_dir').digest.algorithm).to.equal('mlcube-tree-v1');
    expect(consume.lineage).to.deep.include({ input: 'out_dir', run_id: ids[0], task: 'copy', output: 'out_dir', sha256: copy.parameters.find((p: any) => p.name === 'out_dir').digest.sha256 });
    const envelope = readJson(join(runsDir(), ids[0], 'provenance.dsse.json'));
    const st = JSON.parse(Buffer.from(envelope.payload, 'base64').toString());
    expect(st._type).to.equal('https://in-toto.io/Statement/v1');
    expect(st.predicateType).to.equal('https://slsa.dev/provenance/v1');
    expect(st.subject.map((s: any) => s.name)).to.include.members(['out', 'out/a.txt', 'reports/report.txt']);
    for (const id of ids) {
      const v = await verify(id);
      expect(v.exitCode, v.stderr).to.equal(0);
      expect(v.stdout).to.contain('verified');
    }
    const list = await mlcube(['runs', 'list', `--workspace=${ws}`, '--json']);
    expect(JSON.parse(list.stdout).runs.map((r: any) => [r.task, r.status, r.signed])).to.deep.equal([
      ['copy', 'succeeded', true],
      ['consume', 'succeeded', true],
    ]);
    const dot = await mlcube(['provenance', 'export', `--workspace=${ws}`, '--format=dot']);
    expect(dot.stdout).to.contain(`"run:${ids[1]}" -> "run:${ids[0]}"`);
  });

  it('fails naming the file when an output byte changes', async () => {
    writeFileSync(join(ws, 'out', 'a.txt'), 'alphA\n');
    const v = await verify(ids[0]);
    expect(v.exitCode).to.equal(5);
    expect(v.stderr).to.match(/output out_dir .*: a\.txt differs/);
  });

  it('fails when a signature byte changes', async () => {
    const f = join(runsDir(), ids[0], 'provenance.dsse.json');
    const e = readJson(f);
    const sig = Buffer.from(e.signatures[0].sig, 'base64');
    sig[10] ^= 0x01;
    e.signatures[0].sig = sig.toString('base64');
    writeFileSync(f, JSON.stringify(e));
    const v = await verify(ids[0]);
    expect(v.exitCode).to.equal(5);
    expect(v.stderr).to.contain('signature: does not verify');
  });

  it('fails when the signed statement is edited', async () => {
    const f = join(runsDir(), ids[0], 'provenance.dsse.json');
    const e = readJson(f);
    const st = JSON.parse(Buffer.from(e.payload, 'base64').toString());
    st.subject[0].digest = { sha256: '0'.repeat(64) };
    e.payload = Buffer.from(JSON.stringify(st)).toString('base64');
    writeFileSync(f, JSON.stringify(e));
    const v = await verify(ids[0]);
    expect(v.exitCode).to.equal(5);
    expect(v.stderr).to.contain('signature: does not verify');
  });

  it('fails when the record is edited (a metric, a digest) after signing', async () => {
    const f = join(runsDir(), ids[0], 'record.json');
    const rec = readJson(f);
    rec.exit_code = 0;
    rec.metrics.final = { accuracy: 1 };
    writeFileSync(f, JSON.stringify(rec));
    const v = await verify(ids[0]);
    expect(v.exitCode).to.equal(5);
    expect(v.stderr).to.contain('record: record.json differs from the record the statement signed');
  });

  it('fails with a swapped public key', async () => {
    const other = tempDir('mlcube-keys2-');
    try {
      await mlcube(['keys', 'generate', `--dir=${other.dir}`]);
      const v = await verify(ids[0], [`--public-key=${join(other.dir, 'signing.pub')}`]);
      expect(v.exitCode).to.equal(5);
      expect(v.stderr).to.contain('but the trusted public key is');
      // signing.pub beside the key is no trust anchor (anyone who can write there could swap it): replacing it
      // changes nothing, the public half of the signing key itself is what is trusted by default.
      writeFileSync(join(keys.dir, 'signing.pub'), readFileSync(join(other.dir, 'signing.pub')));
      const v2 = await verify(ids[0]);
      expect(v2.exitCode, v2.stderr).to.equal(0);
      expect(v2.stdout).to.contain(`trusted from the public half of the signing key ${join(keys.dir, 'signing.key')}`);
    } finally {
      other.cleanup();
    }
  });

  it('fails when an output is deleted, and when a file is added to an output directory, listing every problem', async () => {
    rmSync(join(ws, 'reports', 'report.txt'));
    writeFileSync(join(ws, 'out', 'extra.txt'), 'x');
    const v = await verify(ids[0]);
    expect(v.exitCode).to.equal(5);
    expect(v.stderr).to.match(/output report .*report\.txt\): missing/);
    expect(v.stderr).to.match(/output out_dir .*: extra\.txt was added/);
    expect(v.stderr).to.contain('2 problems');
  });

  it('an optional input the run went without verifies while it stays absent, and fails once a file appears there', async () => {
    // consume gets an optional input file that does not exist (bound as nothing, recorded as missing).
    const file = join(cube.dir, 'mlcube.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('        out_dir: out/\n', '        out_dir: out/\n        extra: {type: file, default: input/extra.yaml, optional: true}\n'));
    const before = new Set(readdirSync(runsDir()));
    const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=consume'], { env });
    expect(r.exitCode, r.stderr).to.equal(0);
    const [id] = readdirSync(runsDir()).filter((d) => !before.has(d));
    const extra = readJson(join(runsDir(), id, 'record.json')).parameters.find((p: any) => p.name === 'extra');
    expect([extra.found, extra.digest]).to.deep.equal(['missing', null]);
    const ok = await verify(id);
    expect(ok.exitCode, ok.stderr).to.equal(0);
    expect(ok.stdout).to.contain('input extra: absent, as when the run started (an optional input)');
    writeFileSync(join(ws, 'input', 'extra.yaml'), 'x: 1\n');
    const v = await verify(id);
    expect(v.exitCode).to.equal(5);
    expect(v.stderr).to.match(/input extra .*extra\.yaml\): was missing when the run started \(an optional input\), is now a file/);
  });

  it('fails for an unsigned run, and reports a record left "running" by a dead process as killed', async () => {
    const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=consume', '--json']);
    expect(r.exitCode, r.stderr).to.equal(0);
    const id = JSON.parse(r.stdout).tasks[0].run_id;
    const v = await verify(id);
    expect(v.exitCode).to.equal(5);
    expect(v.stderr).to.contain('the run is not signed');
    // The fix says how to sign (issue #15: it used to suggest restoring files).
    expect(v.stderr).to.match(/fix: .*mlcube keys generate/);
    const f = join(runsDir(), id, 'record.json');
    writeFileSync(f, JSON.stringify({ ...readJson(f), status: 'running', pid: 2 ** 22 + 12345, exit_code: null }));
    const list = await mlcube(['runs', 'list', `--workspace=${ws}`, '--json']);
    expect(JSON.parse(list.stdout).runs.find((x: any) => x.run_id === id).status).to.equal('killed');
  });

  it('creates the record directories 0755 and files 0644 whatever the umask', async () => {
    const wide = tempDir('mlcube-umask-');
    try {
      const c = join(wide.dir, 'cube');
      cpSync(join(FIXTURES, 'cubes', 'basic'), c, { recursive: true });
      const r = await execa('sh', ['-c', `umask 000 && exec "$0" "$@"`, CLI, 'run', `--mlcube=${c}`, '--platform=local', '--task=copy', '--json'], {
        env: { ...env, MLCUBE_SYSTEM_SETTINGS: join(wide.dir, 'none.yaml') },
        reject: false,
      });
      expect(r.exitCode, String(r.stderr)).to.equal(0);
      const id = JSON.parse(String(r.stdout)).tasks[0].run_id;
      const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);
      const runs = join(c, 'workspace', '.mlcube', 'runs');
      expect([join(c, 'workspace', '.mlcube'), runs, join(runs, id), join(runs, id, 'manifests')].map(mode)).to.deep.equal(['755', '755', '755', '755']);
      const files = ['record.json', 'provenance.dsse.json', 'manifests/code.txt', 'manifests/output-out_dir.txt'].map((f) => join(runs, id, f));
      expect([...files, join(runs, 'producers.jsonl')].map(mode)).to.deep.equal(['644', '644', '644', '644', '644']);
    } finally {
      wide.cleanup();
    }
  });

  it('an input entry that cannot be digested (a name that is not UTF-8) stops the run with exit 5 naming it; the task never starts', async () => {
    writeFileSync(Buffer.from(join(ws, 'input', 'bad-').concat('\xff'), 'latin1'), 'x');
    rmSync(join(ws, 'out'), { recursive: true });
    rmSync(join(ws, 'reports'), { recursive: true });
    const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=copy'], { env });
    expect(r.exitCode).to.equal(5);
    expect(r.stderr).to.match(/task "copy", parameter "in_dir": cannot digest input in_dir \(.*input\)/);
    expect(r.stderr).to.not.match(/\n\s+at /); // no stack trace
    expect(existsSync(join(ws, 'out', 'a.txt')) || existsSync(join(ws, 'reports', 'report.txt'))).to.equal(false);
  });

  it("a local run's record holds its stdout/stderr, metrics, host facts, usage and the code digest; editing saved output fails verify", async () => {
    const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=report', '--json'], { env });
    expect(r.exitCode, r.stderr).to.equal(0);
    // The terminal still shows the task's output: under --json its stdout is on stderr (stdout is the summary's).
    expect(r.stderr).to.contain('report: stdout line').and.contain('report: stderr line');
    const id = JSON.parse(r.stdout).tasks[0].run_id;
    const rec = expectReportRecord(join(runsDir(), id), { usageMethod: /^proc-children-rusage\+proc-sampling$/ });
    expect(rec.runs_on_host).to.equal(true);
    expect(rec.cube.code.sha256).to.match(/^[0-9a-f]{64}$/);
    expect(rec.image).to.equal(null);
    expect((await verify(id)).exitCode).to.equal(0);
    appendFileSync(join(runsDir(), id, 'stdout.log'), 'forged\n');
    const v = await verify(id);
    expect(v.exitCode).to.equal(5);
    expect(v.stderr).to.contain('stdout: the saved task output stdout.log was altered');
  });

  it('an output that cannot be digested after the task: exit 5 naming it, the record written failed (never left running)', async () => {
    const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=badname'], { env });
    expect(r.exitCode).to.equal(5);
    expect(r.stderr).to.match(/task "badname", parameter "out_dir": cannot digest output out_dir/);
    const list = JSON.parse((await mlcube(['runs', 'list', `--workspace=${ws}`, '--json'])).stdout).runs;
    expect(list.find((x: any) => x.task === 'badname')).to.include({ status: 'failed', exit_code: 0, signed: false });
  });

  it('records a failing task as failed with its exit code', async () => {
    const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=fail'], { env });
    expect(r.exitCode).to.equal(7);
    const list = JSON.parse((await mlcube(['runs', 'list', `--workspace=${ws}`, '--json'])).stdout).runs;
    expect(list.find((x: any) => x.task === 'fail')).to.include({ status: 'failed', exit_code: 7, signed: false });
  });

  it('compares runs side by side (params and final metrics)', async () => {
    const c = await mlcube(['runs', 'compare', ...ids, `--workspace=${ws}`, '--json']);
    expect(c.exitCode, c.stderr).to.equal(0);
    const out = JSON.parse(c.stdout);
    expect(out.runs).to.deep.equal(ids);
    expect(out.rows.find((r: any) => r.key === 'task').values).to.deep.equal(['copy', 'consume']);
    appendFileSync(join(ws, 'unrelated.txt'), 'x');
  });
});

describe('runs list names where it looked', () => {
  it('with no runs, the message names the runs directory searched', async () => {
    const d = tempDir('mlcube-empty-ws-');
    try {
      const r = await mlcube(['runs', 'list', `--workspace=${d.dir}`]);
      expect(r.exitCode).to.equal(0);
      expect(r.stdout).to.contain(`no runs recorded in ${join(d.dir, '.mlcube', 'runs')}`);
    } finally {
      d.cleanup();
    }
  });
});
