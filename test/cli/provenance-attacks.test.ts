import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyFixture, mlcube, readJson, tempDir } from '../helpers/cli.js';

/**
 * `mlcube provenance verify` attacked as someone with write access to a workspace would (README "Run records"):
 * each case starts from a fresh copy of one signed cube (copy -> consume, local runner), tampers, and must get
 * exit 5 with the problem named. A copied, untouched workspace must verify: that is what makes copies checkable.
 */
describe('provenance verify under attack: every tampering is exit 5 with the problem named', function () {
  let pristine: { dir: string; cleanup: () => void };
  let keys: { dir: string; cleanup: () => void };
  let env: Record<string, string>;
  let ids: { copy: string; consume: string; unsigned: string };

  before(async () => {
    pristine = copyFixture('basic');
    keys = tempDir('mlcube-keys-');
    expect((await mlcube(['keys', 'generate', `--dir=${keys.dir}`])).exitCode).to.equal(0);
    env = { MLCUBE_SIGNING_KEY: join(keys.dir, 'signing.key') };
    const r = await mlcube(['run', `--mlcube=${pristine.dir}`, '--platform=local', '--task=copy,consume', '--json'], { env });
    expect(r.exitCode, r.stderr).to.equal(0);
    const [copy, consume] = JSON.parse(r.stdout).tasks.map((t: { run_id: string }) => t.run_id);
    const u = await mlcube(['run', `--mlcube=${pristine.dir}`, '--platform=local', '--task=consume', '--json']);
    expect(u.exitCode, u.stderr).to.equal(0);
    ids = { copy, consume, unsigned: JSON.parse(u.stdout).tasks[0].run_id };
  });
  after(() => {
    pristine.cleanup();
    keys.cleanup();
  });

  /** A fresh copy of the signed cube (workspace inside it), as `cp -a` would make. */
  let cube: { dir: string; cleanup: () => void };
  beforeEach(() => {
    cube = tempDir('mlcube-attack-');
    cpSync(pristine.dir, cube.dir, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
  });
  afterEach(() => cube.cleanup());

  const ws = () => join(cube.dir, 'workspace');
  const runDir = (id: string) => join(ws(), '.mlcube', 'runs', id);
  const recordOf = (id: string) => join(runDir(id), 'record.json');
  const envelopeOf = (id: string) => join(runDir(id), 'provenance.dsse.json');
  const editJson = (f: string, edit: (v: any) => any) => writeFileSync(f, JSON.stringify(edit(readJson(f)), null, 2));
  const sha256 = (f: string) => execFileSync('sha256sum', [f], { encoding: 'utf8' }).split(' ')[0];
  const verify = (target: string, extra: string[] = [], e: Record<string, string> = env) => mlcube(['provenance', 'verify', target, ...extra], { env: e, timeoutMs: 30_000 });

  it('an untouched copy verifies on its own files, by run directory and by id + --workspace', async () => {
    for (const id of [ids.copy, ids.consume]) {
      const v = await verify(runDir(id));
      expect(v.exitCode, v.stderr).to.equal(0);
      expect(v.stdout).to.contain(`workspace ${ws()}`);
      expect((await verify(id, [`--workspace=${ws()}`])).exitCode).to.equal(0);
    }
  });

  it('a copied workspace tampered in the copy fails, while the original still verifies', async () => {
    writeFileSync(join(ws(), 'out', 'a.txt'), 'tampered\n');
    const v = await verify(runDir(ids.copy));
    expect(v.exitCode).to.equal(5);
    expect(v.stderr).to.contain(`output out_dir (${join(ws(), 'out')}): a.txt differs`);
    expect((await verify(join(pristine.dir, 'workspace', '.mlcube', 'runs', ids.copy))).exitCode).to.equal(0);
    const viaFlag = await verify(ids.copy, [`--workspace=${ws()}`]);
    expect(viaFlag.exitCode).to.equal(5);
  });

  it('a moved cube verifies; identical files re-created at the old path do not save a tampered moved copy', async () => {
    const moved = `${cube.dir}-moved`;
    renameSync(cube.dir, moved);
    try {
      const mdir = join(moved, 'workspace', '.mlcube', 'runs', ids.copy);
      const ok = await verify(mdir);
      expect(ok.exitCode, ok.stderr).to.equal(0);
      cpSync(moved, cube.dir, { recursive: true }); // the old place holds identical files again
      writeFileSync(join(moved, 'workspace', 'reports', 'report.txt'), 'forged');
      const v = await verify(mdir);
      expect(v.exitCode).to.equal(5);
      expect(v.stderr).to.match(/output report .*moved.*sha256 differs/);
    } finally {
      rmSync(moved, { recursive: true, force: true });
    }
  });

  for (const value of ['null', 'false', '0', '""', '[]', '{}']) {
    it(`an envelope replaced by ${value} is a failure, even with the record rewritten to match a changed output`, async () => {
      writeFileSync(join(ws(), 'reports', 'report.txt'), 'forged');
      editJson(recordOf(ids.copy), (r) => {
        r.parameters.find((p: any) => p.name === 'report').digest.sha256 = sha256(join(ws(), 'reports', 'report.txt'));
        return r;
      });
      writeFileSync(envelopeOf(ids.copy), value);
      const v = await verify(runDir(ids.copy));
      expect(v.exitCode).to.equal(5);
      expect(v.stderr).to.contain('is not a DSSE envelope');
      const list = JSON.parse((await mlcube(['runs', 'list', `--workspace=${ws()}`, '--json'])).stdout).runs;
      expect(list.find((x: any) => x.run_id === ids.copy)).to.include({ signed: false, signature: 'invalid' });
    });
  }

  const envelopeCases: Array<[string, (e: any) => any, RegExp]> = [
    ['signatures: [null]', (e) => ({ ...e, signatures: [null] }), /is not a DSSE envelope/],
    ['a numeric sig', (e) => ({ ...e, signatures: [{ ...e.signatures[0], sig: 12345 }] }), /is not a DSSE envelope/],
    ['no signatures', (e) => ({ ...e, signatures: [] }), /is not a DSSE envelope/],
    ['a payload that is not base64', (e) => ({ ...e, payload: '%%%' }), /is not a DSSE envelope/],
    ['another payload type', (e) => ({ ...e, payloadType: 'text/plain' }), /is not a DSSE envelope/],
    ['an extra signature by another key only', (e) => ({ ...e, signatures: [{ keyid: 'ab'.repeat(32), sig: e.signatures[0].sig }] }), /signature: made by key/],
  ];
  for (const [what, edit, problem] of envelopeCases) {
    it(`an envelope with ${what} is exit 5, not a crash`, async () => {
      editJson(envelopeOf(ids.copy), edit);
      const v = await verify(runDir(ids.copy));
      expect(v.exitCode, v.stderr).to.equal(5);
      expect(v.stderr).to.match(problem);
    });
  }

  const recordCases: Array<[string, (r: any) => any, RegExp]> = [
    ['null', () => null, /breaks schemas\/run-record.schema.json/],
    ['{}', () => ({}), /breaks schemas\/run-record.schema.json/],
    ['parameters: null', (r) => ({ ...r, parameters: null }), /breaks schemas\/run-record.schema.json at \/parameters/],
    ['an edited signature keyid', (r) => ({ ...r, signature: { ...r.signature, keyid: 'cd'.repeat(32) } }), /the record says it was signed by key cdcdcdcdcdcd, the trusted key is/],
    ['an envelope path leading elsewhere', (r) => ({ ...r, signature: { ...r.signature, envelope: '../other/provenance.dsse.json' } }), /breaks schemas\/run-record.schema.json at \/signature/],
    ['a path climbing out of the workspace', (r) => ({ ...r, parameters: r.parameters.map((p: any) => ({ ...p, path: '../../etc' })) }), /climbs out of the workspace/],
    ['the format of an older mlcube', (r) => ({ ...r, schema: 'mlcube-run-record/v1' }), /written by an older mlcube/],
    ['a container runner and no image digest', (r) => ({ ...r, runner: 'docker', runs_on_host: false, image: null }), /image: the run used the docker runner but the record names no image digest/],
    ['a changed metric', (r) => ({ ...r, metrics: { ...r.metrics, final: { accuracy: 1 } } }), /record.json differs from the record the statement signed/],
  ];
  for (const [what, edit, problem] of recordCases) {
    it(`a record with ${what} is exit 5 naming the problem`, async () => {
      editJson(recordOf(ids.copy), edit);
      const v = await verify(runDir(ids.copy));
      expect(v.exitCode, v.stderr).to.equal(5);
      expect(v.stderr).to.match(problem);
    });
  }

  it('an unsigned run given a signature object still fails (no envelope), and one given a copied envelope too', async () => {
    const sig = readJson(recordOf(ids.copy)).signature;
    editJson(recordOf(ids.unsigned), (r) => ({ ...r, signature: sig }));
    const v = await verify(runDir(ids.unsigned));
    expect(v.exitCode).to.equal(5);
    expect(v.stderr).to.match(/the envelope .* is missing/);
    cpSync(envelopeOf(ids.consume), envelopeOf(ids.unsigned));
    const w = await verify(runDir(ids.unsigned));
    expect(w.exitCode).to.equal(5);
    expect(w.stderr).to.contain('differs from the record the statement signed');
  });

  it("another run's record and envelope swapped into a run directory fail (the run id is its directory's name)", async () => {
    cpSync(recordOf(ids.consume), recordOf(ids.copy));
    cpSync(envelopeOf(ids.consume), envelopeOf(ids.copy));
    const v = await verify(runDir(ids.copy));
    expect(v.exitCode).to.equal(5);
    expect(v.stderr).to.contain(`it is the record of run ${ids.consume}, found in the directory of run ${ids.copy}`);
  });

  it('a record.json that is a symlink to a valid record fails', async () => {
    const elsewhere = join(cube.dir, 'record-copy.json');
    cpSync(recordOf(ids.copy), elsewhere);
    unlinkSync(recordOf(ids.copy));
    symlinkSync(elsewhere, recordOf(ids.copy));
    const v = await verify(runDir(ids.copy));
    expect(v.exitCode).to.equal(5);
    expect(v.stderr).to.contain('is a symbolic link');
  });

  it('a manifest with a line removed, or replaced by a symlink, fails', async () => {
    const manifests = join(runDir(ids.copy), 'manifests');
    const out = join(
      manifests,
      readdirSync(manifests).find((f) => f.startsWith('output-out_dir'))!,
    );
    const lines = readFileSync(out, 'utf8').split('\n');
    writeFileSync(out, lines.slice(1).join('\n'));
    const v = await verify(runDir(ids.copy));
    expect(v.exitCode).to.equal(5);
    expect(v.stderr).to.match(/output out_dir: its manifest manifests\/output-out_dir.txt was altered/);
    unlinkSync(out);
    symlinkSync(join(ws(), 'out'), out);
    expect((await verify(runDir(ids.copy))).stderr).to.match(/its manifest manifests\/output-out_dir.txt is a symbolic link/);
  });

  it('an output that became a symlink loop, or a FIFO, fails at once (never hangs)', async () => {
    rmSync(join(ws(), 'reports', 'report.txt'));
    symlinkSync('report.txt', join(ws(), 'reports', 'report.txt')); // a link to itself: ELOOP when followed
    const v = await verify(runDir(ids.copy));
    expect(v.exitCode, v.stderr).to.equal(5);
    expect(v.stderr).to.match(/output report .*: was a file, is now a symlink/);
    unlinkSync(join(ws(), 'reports', 'report.txt'));
    execFileSync('mkfifo', [join(ws(), 'reports', 'report.txt')]);
    execFileSync('mkfifo', [join(ws(), 'out', 'pipe')]);
    const t = Date.now();
    const f = await verify(runDir(ids.copy));
    expect(Date.now() - t).to.be.below(15_000);
    expect(f.exitCode, f.stderr).to.equal(5);
    expect(f.stderr).to.match(/output report .*: was a file, is now a other/);
    expect(f.stderr).to.match(/output out_dir .*: pipe was added \(a other\)/);
  });

  it('a task whose output is a FIFO: the run ends and records it as such, verify fails naming it', async () => {
    const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=fifo', '--json'], { env, timeoutMs: 30_000 });
    expect(r.exitCode, r.stderr).to.equal(0);
    const id = JSON.parse(r.stdout).tasks[0].run_id;
    expect(readJson(recordOf(id)).parameters[0]).to.include({ found: 'other', digest: null });
    const v = await verify(runDir(id));
    expect(v.exitCode).to.equal(5);
    expect(v.stderr).to.contain('the run produced a other, not a file, there');
  });

  it("editing the cube's program after a host run fails verify, naming the file", async () => {
    appendFileSync(join(cube.dir, 'task.mjs'), '\n// changed\n');
    const v = await verify(runDir(ids.copy));
    expect(v.exitCode).to.equal(5);
    expect(v.stderr).to.match(/cube code in .*: changed since the run \(task\.mjs changed\)/);
    const rec = readJson(recordOf(ids.copy));
    expect(rec.cube.code).to.include({ algorithm: 'mlcube-tree-v1', manifest: 'manifests/code.txt' });
    expect(rec.cube.code.excluded).to.include('workspace');
  });

  it('a file added to an output is explained only by a later run that itself verifies', async () => {
    writeFileSync(join(ws(), 'out', 'late.txt'), 'late');
    const later = join(ws(), '.mlcube', 'runs', '20991231T000000Z-forged-000000');
    mkdirSync(later, { recursive: true });
    const forged = readJson(recordOf(ids.copy));
    forged.run_id = '20991231T000000Z-forged-000000';
    forged.started_at = '2099-12-31T00:00:00.000Z';
    writeFileSync(join(later, 'record.json'), JSON.stringify(forged));
    const v = await verify(runDir(ids.copy));
    expect(v.exitCode).to.equal(5);
    expect(v.stderr).to.contain('late.txt was added');
  });

  it('a file a later verified run rewrote in the same output directory is a note; without that run it is a problem', async () => {
    const first = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=custom', '--json'], { env });
    expect(first.exitCode, first.stderr).to.equal(0);
    const id = JSON.parse(first.stdout).tasks[0].run_id;
    const second = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=custom', '-Ptasks.custom.entrypoint=node custom.mjs --other', '--json'], { env });
    expect(second.exitCode, second.stderr).to.equal(0);
    const v = await verify(runDir(id));
    expect(v.exitCode, v.stderr).to.equal(0);
    expect(v.stdout).to.contain(`argv.json was written later by run ${JSON.parse(second.stdout).tasks[0].run_id}`);
    rmSync(runDir(JSON.parse(second.stdout).tasks[0].run_id), { recursive: true });
    const w = await verify(runDir(id));
    expect(w.exitCode).to.equal(5);
    expect(w.stderr).to.match(/output out_dir .*: argv\.json differs/);
  });

  it('without a trusted key verify fails, and with one it names the key and where it came from', async () => {
    const none = await verify(runDir(ids.copy), [], { HOME: cube.dir });
    expect(none.exitCode).to.equal(5);
    expect(none.stderr).to.contain('no trusted public key');
    const pub = join(keys.dir, 'signing.pub');
    const keyid = readJson(recordOf(ids.copy)).signature.keyid;
    const byFlag = await verify(runDir(ids.copy), [`--public-key=${pub}`], { HOME: cube.dir });
    expect(byFlag.exitCode, byFlag.stderr).to.equal(0);
    expect(byFlag.stdout).to.contain(`signed by key ${keyid}, trusted from --public-key ${pub}`);
    const byEnv = await verify(runDir(ids.copy), ['--json'], { HOME: cube.dir, MLCUBE_PUBLIC_KEY: pub });
    expect(JSON.parse(byEnv.stdout).trusted_key).to.deep.equal({ keyid, source: `MLCUBE_PUBLIC_KEY=${pub}` });
  });

  it('a parameter outside the workspace keeps its absolute path, and verify says it checked it there', async () => {
    const outside = tempDir('mlcube-outside-');
    try {
      const report = join(outside.dir, 'report.txt');
      const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=copy', `report=${report}`, '--json'], { env });
      expect(r.exitCode, r.stderr).to.equal(0);
      const id = JSON.parse(r.stdout).tasks[0].run_id;
      expect(readJson(recordOf(id)).parameters.find((p: any) => p.name === 'report')).to.include({ path: report, base: 'absolute' });
      const v = await verify(runDir(id));
      expect(v.exitCode, v.stderr).to.equal(0);
      expect(v.stdout).to.contain(`note: output report: outside the workspace, checked at its absolute path ${report}`);
      writeFileSync(report, 'changed');
      expect((await verify(runDir(id))).stderr).to.match(/output report .*sha256 differs/);
    } finally {
      outside.cleanup();
    }
  });

  it('an output that is the workspace itself is digested without its .mlcube (records written later change nothing)', async () => {
    const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=copy', 'out_dir=.', '--json'], { env });
    expect(r.exitCode, r.stderr).to.equal(0);
    const id = JSON.parse(r.stdout).tasks[0].run_id;
    expect(readFileSync(join(runDir(id), 'manifests', 'output-out_dir.txt'), 'utf8')).to.not.contain('.mlcube');
    const v = await verify(runDir(id));
    expect(v.exitCode, v.stderr).to.equal(0);
    writeFileSync(join(ws(), 'cfg.yaml'), 'changed');
    expect((await verify(runDir(id))).stderr).to.match(/output out_dir .*: cfg.yaml differs/);
  });

  it('a path that is no run directory is a usage error (exit 2), not a verification', async () => {
    const v = await verify(join(ws(), 'out'));
    expect(v.exitCode).to.equal(2);
    expect(v.stderr).to.contain('is not a run directory');
    expect(statSync(ws()).isDirectory()).to.equal(true);
  });
});
