import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { CLI, mlcube, readJson, snapshot, tempDir } from '../helpers/cli.js';
import { recordsByTask } from '../helpers/graph.js';
import { filesHolding, plaintextSearchRoots, secretCube, type SecretCube } from '../helpers/secret-cube.js';
import { alive, waitFor } from '../helpers/processes.js';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** Encrypted inputs and outputs on the local runner (README "Encrypted inputs and outputs"): the secret fixture cube. */
describe('encrypted inputs and outputs on the local runner', function () {
  this.timeout(90_000);
  let s: SecretCube;
  afterEach(() => s?.cleanup());
  const run = (args: string[] = [], env = s.env) => mlcube(['run', `--mlcube=${s.dir}`, '--platform=local', '--task=read', ...args], { env });
  const leaks = () => filesHolding(s.marker, plaintextSearchRoots(s.ws), [s.keysDir]);

  it('the task reads the plaintext in a private place; afterwards no plaintext is anywhere; the output is sealed; the record holds ciphertext digests and key fingerprints', async () => {
    s = await secretCube();
    const r = await run(['--json']);
    expect(r.exitCode, r.stderr).to.equal(0);
    const report = readJson(join(s.ws, 'out', 'report.json'));
    // The task saw the plaintext: the digests of what it read are those of the files the test encrypted.
    expect(report.files).to.deep.equal({ 'a.txt': sha256(`${s.marker} a\n`), 'b.txt': sha256(`${s.marker} b\n`) });
    expect(report.note).to.equal(sha256(`${s.marker} note\n`));
    expect(report.data_path).to.match(/^(\/dev\/shm|\/tmp)\/mlcube-plain-\d+-(\d+|x)-[A-Za-z0-9]{6}\/input-data$/);
    expect(existsSync(report.data_path), 'the private place is gone').to.equal(false);
    expect(leaks()).to.deep.equal([]);
    // The sealed output opens with the consumer's identity only.
    const out = tempDir('mlcube-secret-out-');
    try {
      const d = await mlcube(['decrypt', `--identity=${s.identity}`, join(s.ws, 'out', 'result.enc'), join(out.dir, 'result')]);
      expect(d.exitCode, d.stderr).to.equal(0);
      expect(readFileSync(join(out.dir, 'result', 'answer.txt'), 'utf8')).to.equal(`2 files, note of ${`${s.marker} note\n`.length} bytes\n`);
    } finally {
      out.cleanup();
    }
    expect(existsSync(join(s.ws, 'out', 'result'))).to.equal(false);
    // The record: the ciphertexts' digests and the keys' fingerprints, never a plaintext digest.
    const id = JSON.parse(r.stdout).tasks[0].run_id;
    const rec = readJson(join(s.ws, '.mlcube', 'runs', id, 'record.json'));
    const param = (n: string) => rec.parameters.find((p: { name: string }) => p.name === n);
    expect(param('data')).to.deep.include({ type: 'file', found: 'file', path: 'data.enc' });
    expect(param('data').digest.sha256).to.equal(sha256(readFileSync(join(s.ws, 'data.enc'))));
    expect(param('data').encryption).to.deep.include({ holds: 'directory', mode: 'key_file', key_source: 'key_file' });
    expect(param('note').encryption).to.deep.include({ holds: 'file', mode: 'key_file', key_source: 'key_env' });
    expect(param('result').encryption).to.deep.include({ holds: 'directory', mode: 'x25519', key_source: 'recipient' });
    expect(param('result').digest.sha256).to.equal(sha256(readFileSync(join(s.ws, 'out', 'result.enc'))));
    const recordText = readFileSync(join(s.ws, '.mlcube', 'runs', id, 'record.json'), 'utf8');
    for (const plainDigest of [report.note, report.files['a.txt']]) expect(recordText).to.not.contain(plainDigest);
    expect(recordText).to.not.contain(s.env.MLCUBE_TEST_NOTE_KEY);
  });

  it('a wrong key: exit 5, the task never starts, no plaintext anywhere', async () => {
    s = await secretCube();
    writeFileSync(join(s.ws, 'keys', 'data.key'), randomBytes(32));
    const r = await run();
    expect(r.exitCode, r.stderr).to.equal(5);
    expect(r.stderr).to.contain('MLCUBE_DECRYPT_FAILED');
    expect(existsSync(join(s.ws, 'out', 'report.json'))).to.equal(false);
    expect(recordsByTask(s.ws).read).to.include({ status: 'failed' });
    expect(leaks()).to.deep.equal([]);
  });

  it('a key-release command: its stdout is the key (and a failing one is a clear error, no plaintext)', async () => {
    s = await secretCube();
    const f = join(s.dir, 'mlcube.yaml');
    const hexFile = join(s.keysDir, 'note.hex');
    writeFileSync(hexFile, `${s.env.MLCUBE_TEST_NOTE_KEY}\n`);
    const cube = readFileSync(f, 'utf8');
    writeFileSync(f, cube.replace('encryption: {key_env: MLCUBE_TEST_NOTE_KEY}', `encryption: {key_command: "cat ${hexFile}"}`));
    const ok = await run([], {});
    expect(ok.exitCode, ok.stderr).to.equal(0);
    expect(readJson(join(s.ws, 'out', 'report.json')).note).to.equal(sha256(`${s.marker} note\n`));
    writeFileSync(f, cube.replace('encryption: {key_env: MLCUBE_TEST_NOTE_KEY}', `encryption: {key_command: "cat ${hexFile}.missing"}`));
    const bad = await run([], {});
    expect(bad.exitCode, bad.stderr).to.equal(5);
    expect(recordsByTask(s.ws).read).to.include({ status: 'failed' });
    expect(bad.stderr).to.match(/the key-release command "cat .*note\.hex\.missing" of encrypted input "note" failed \(exit code 1\)/);
    expect(leaks()).to.deep.equal([]);
  });

  it('a key variable that is not set: exit 2 before anything is created', async () => {
    s = await secretCube();
    const before = snapshot(s.dir);
    const r = await run([], {});
    expect(r.exitCode, r.stderr).to.equal(2);
    expect(r.stderr).to.match(/task "read", parameter "note": the key of this encrypted input is to come from \$MLCUBE_TEST_NOTE_KEY, which is not set/);
    expect(snapshot(s.dir)).to.deep.equal(before);
  });

  it('SIGKILL of mlcube during the task leaves the plaintext only until the next mlcube command, which removes it', async () => {
    s = await secretCube({ hold: true });
    const child = execa('node', [CLI, 'run', `--mlcube=${s.dir}`, '--platform=local', '--task=read'], { reject: false, env: { ...s.env, MLCUBE_SYSTEM_SETTINGS: '/nonexistent/settings.yaml' } });
    expect(await waitFor(() => existsSync(join(s.ws, 'out', 'report.json')), 30_000), 'the task ran').to.equal(true);
    const place = readJson(join(s.ws, 'out', 'report.json')).data_path.replace(/\/input-data$/, '');
    expect(
      leaks().some((f) => f.startsWith(place)),
      'the plaintext is there while the task runs',
    ).to.equal(true);
    child.kill('SIGKILL');
    await child;
    expect(existsSync(place), 'a killed mlcube could not remove it').to.equal(true);
    // Any command: describe reads no workspace at all.
    const d = await mlcube(['describe', `--mlcube=${s.dir}`]);
    expect(d.exitCode, d.stderr).to.equal(0);
    expect(d.stderr).to.contain(`removed ${place}, the private place of a task whose mlcube was killed`);
    expect(existsSync(place)).to.equal(false);
    expect(leaks()).to.deep.equal([]);
    // The orphaned task is stopped by the next command that reads the workspace's records.
    const pgid = readJson(
      join(
        s.ws,
        '.mlcube',
        'runs',
        readdirSync(join(s.ws, '.mlcube', 'runs')).find((n) => n !== 'producers.jsonl' && n !== 'live')!,
        'record.json',
      ),
    ).reaping?.task_pgid;
    await mlcube(['runs', 'list', `--workspace=${s.ws}`]);
    if (pgid) expect(await waitFor(() => !alive(pgid), 10_000)).to.equal(true);
  });
});
