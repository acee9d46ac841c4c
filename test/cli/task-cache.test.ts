import { expect } from 'chai';
import { appendFileSync, chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyFixture, mlcube, readJson, snapshot, tempDir } from '../helpers/cli.js';
import { latestRecords } from '../helpers/graph.js';

/** The diamond cube (a -> b, c -> d, then e): each task appends a line to logs/<task>.log when it runs. */
const runsOf = (ws: string, task: string) =>
  existsSync(join(ws, 'logs', `${task}.log`))
    ? readFileSync(join(ws, 'logs', `${task}.log`), 'utf8')
        .trim()
        .split('\n').length
    : 0;
const TASKS = ['a', 'b', 'c', 'd', 'e'];
// e writes no log: its records tell whether it ran.
const counts = (ws: string) => Object.fromEntries(TASKS.slice(0, 4).map((t) => [t, runsOf(ws, t)]));

const latest = latestRecords;

describe('task cache (README "Task cache"): the diamond cube on the local runner', function () {
  this.timeout(180_000);
  let cube: { dir: string; cleanup: () => void };
  let ws: string;
  const run = (...extra: string[]) => mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--log-level=info', ...extra]);

  beforeEach(async () => {
    cube = copyFixture('diamond');
    ws = join(cube.dir, 'workspace');
    const first = await run();
    expect(first.exitCode, first.stderr).to.equal(0);
    expect(counts(ws)).to.deep.equal({ a: 1, b: 1, c: 1, d: 1 });
    for (const r of Object.values(latest(ws))) expect(r.cache).to.deep.include({ decision: 'miss', reason: 'no earlier run of this task to reuse' });
  });
  afterEach(() => cube.cleanup());

  it('a second identical run runs no task: every record is a hit linking the first run, and says so at info level', async () => {
    const before = latest(ws);
    const again = await run('--json');
    expect(again.exitCode, again.stderr).to.equal(0);
    expect(counts(ws), 'no task ran').to.deep.equal({ a: 1, b: 1, c: 1, d: 1 });
    const now = latest(ws);
    for (const t of TASKS) {
      expect(now[t].run_id).to.not.equal(before[t].run_id);
      expect(now[t].status).to.equal('succeeded');
      expect(now[t].cache).to.deep.include({ decision: 'hit', of: before[t].run_id, key: before[t].cache.key, restored: [] });
      expect(again.stderr).to.contain(`task "${t}": cached: same code, configuration and inputs as run ${before[t].run_id}`);
    }
    const doc = JSON.parse(again.stdout);
    expect(doc.tasks.map((t: any) => t.cached_from)).to.deep.equal(doc.tasks.map((t: any) => before[t.task].run_id));
    const list = await mlcube(['runs', 'list', `--workspace=${ws}`, '--json']);
    const statuses = JSON.parse(list.stdout).runs.map((r: any) => r.status);
    expect(statuses.filter((s: string) => s === 'cached')).to.have.length(5);
  });

  it('a cached run is signed and verifies, like a run that ran; its statement names the run it came from', async () => {
    const keys = tempDir('mlcube-cache-keys-');
    try {
      expect((await mlcube(['keys', 'generate', `--dir=${keys.dir}`])).exitCode).to.equal(0);
      const env = { MLCUBE_SIGNING_KEY: join(keys.dir, 'signing.key') };
      rmSync(join(ws, 'd', 'out.txt'));
      const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=a,b,c,d'], { env });
      expect(r.exitCode, r.stderr).to.equal(0);
      const d = latest(ws).d;
      expect(d.cache).to.deep.include({ decision: 'hit', restored: ['d/out.txt'] });
      expect(d.signature).to.not.equal(null);
      const v = await mlcube(['provenance', 'verify', d.run_id, `--workspace=${ws}`], { env });
      expect(v.exitCode, v.stdout + v.stderr).to.equal(0);
      // The record (cache.of included) is what the signature covers: altering the origin it names fails verification.
      const file = join(ws, '.mlcube', 'runs', d.run_id, 'record.json');
      const rec = readJson(file);
      rec.cache.of = latest(ws).c.run_id;
      writeFileSync(file, JSON.stringify(rec, null, 2));
      const forged = await mlcube(['provenance', 'verify', d.run_id, `--workspace=${ws}`], { env });
      expect(forged.exitCode).to.equal(5);
    } finally {
      keys.cleanup();
    }
  });

  it('an input changed reruns that task only; an unchanged output (same bytes) leaves the tasks after it cached', async () => {
    appendFileSync(join(ws, 'modes', 'ok.txt'), '# edited: still exit 0\n');
    const r = await run();
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(counts(ws)).to.deep.equal({ a: 1, b: 2, c: 1, d: 1 });
    expect(r.stderr).to.match(/task "b": runs: input mode \(sha256 [0-9a-f]{12} then, [0-9a-f]{12} now\) changed since run \S+-b-/);
    const now = latest(ws);
    expect(now.b.cache.decision).to.equal('miss');
    for (const t of ['a', 'c', 'd', 'e']) expect(now[t].cache.decision, t).to.equal('hit');
  });

  it('--dry-run says what the cache would decide, how each task would start, and changes nothing', async () => {
    appendFileSync(join(ws, 'modes', 'ok.txt'), '# edited\n');
    const before = snapshot(cube.dir);
    const r = await run('--dry-run', '--json');
    expect(r.exitCode, r.stderr).to.equal(0);
    const doc = JSON.parse(r.stdout);
    const by = Object.fromEntries(doc.tasks.map((t: any) => [t.name, t]));
    expect(by.a.cache.decision).to.equal('hit');
    expect(by.c.cache.decision).to.equal('hit');
    expect(by.b.cache).to.deep.include({ decision: 'miss' });
    expect(by.b.cache.reason).to.match(/^input mode \(sha256 [0-9a-f]{12} then, [0-9a-f]{12} now\) changed since run \S+-b-/);
    expect(by.d.cache).to.deep.equal({ decision: 'later', reason: 'decided after b, which may change its inputs' });
    expect(by.a.start.argv).to.deep.equal(['node', 'task.mjs', 'a', `--out=${join(ws, 'a', 'out.txt')}`, `--log_dir=${join(ws, 'logs')}`]);
    expect(by.a.start.env).to.include.members(['MLCUBE_TASK', 'MLCUBE_WORKSPACE']);
    expect(by.a.start.host_env).to.equal(true);
    const text = await run('--dry-run');
    expect(text.stdout).to.match(/cache: would run: input mode \(sha256 [0-9a-f]{12} then/);
    expect(text.stdout).to.contain(`argv: node task.mjs a --out=${join(ws, 'a', 'out.txt')}`);
    expect(snapshot(cube.dir), 'nothing changed, not even under .mlcube').to.deep.equal(before);
    expect(counts(ws)).to.deep.equal({ a: 1, b: 1, c: 1, d: 1 });
  });

  it('a deleted output is restored from the store without running the task; a changed one is moved aside, then restored', async () => {
    const want = readFileSync(join(ws, 'd', 'out.txt'), 'utf8');
    rmSync(join(ws, 'd', 'out.txt'));
    writeFileSync(join(ws, 'c', 'out.txt'), 'edited by hand\n');
    const r = await run();
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(counts(ws), 'no task ran').to.deep.equal({ a: 1, b: 1, c: 1, d: 1 });
    expect(readFileSync(join(ws, 'd', 'out.txt'), 'utf8')).to.equal(want);
    expect(readFileSync(join(ws, 'c', 'out.txt'), 'utf8')).to.equal('c(a())\n');
    const now = latest(ws);
    expect(now.d.cache).to.deep.include({ decision: 'hit', restored: ['d/out.txt'] });
    expect(now.c.cache).to.deep.include({ decision: 'hit', restored: ['c/out.txt'] });
    const aside = join(ws, '.mlcube', 'cache', 'replaced', now.c.run_id, 'c', 'out.txt');
    expect(readFileSync(aside, 'utf8'), 'the hand edit is kept').to.equal('edited by hand\n');
    expect(r.stderr).to.contain(`moved to ${aside}`);
  });

  it('a damaged object in the store is never restored: the task runs again', async () => {
    const store = join(ws, '.mlcube', 'cache', 'store', 'sha256');
    const sha = latest(ws).a.parameters.find((p: any) => p.name === 'out').digest.sha256;
    const obj = join(store, sha.slice(0, 2), sha.slice(2));
    chmodSync(obj, 0o644);
    writeFileSync(obj, 'a(forged)\n');
    rmSync(join(ws, 'a', 'out.txt'));
    const r = await run('--task=a');
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(runsOf(ws, 'a')).to.equal(2);
    expect(readFileSync(join(ws, 'a', 'out.txt'), 'utf8')).to.equal('a()\n');
    expect(latest(ws).a.cache.reason).to.match(/^the store lacks \(or holds damaged\) 1 of the cached outputs/);
  });

  it('--no-cache runs every task; `cache: false` on a task always runs it; a forged entry is a miss', async () => {
    const all = await run('--no-cache');
    expect(all.exitCode, all.stderr).to.equal(0);
    expect(counts(ws)).to.deep.equal({ a: 2, b: 2, c: 2, d: 2 });
    for (const r of Object.values(latest(ws))) expect(r.cache).to.deep.include({ decision: 'miss', reason: '--no-cache' });

    const off = await run('-Ptasks.a.cache=false');
    expect(off.exitCode, off.stderr).to.equal(0);
    expect(counts(ws)).to.deep.equal({ a: 3, b: 2, c: 2, d: 2 });
    expect(latest(ws).a.cache).to.deep.include({ decision: 'off', reason: 'cache: false in tasks.a' });

    // An entry naming another task's run (an attacker's index) is not taken.
    const d = latest(ws).d;
    const entries = join(ws, '.mlcube', 'cache', 'entries');
    writeFileSync(join(entries, `${d.cache.key}.json`), JSON.stringify({ schema: 'mlcube-cache-entry/v1', key: d.cache.key, task: 'd', run_id: latest(ws).c.run_id }));
    const forged = await run('--task=d');
    expect(forged.exitCode, forged.stderr).to.equal(0);
    expect(runsOf(ws, 'd')).to.equal(3);
    expect(latest(ws).d.cache.reason).to.match(/^the run its outputs came from \(\S+-c-\S+\) is gone or no longer matches/);
  });

  it('`mlcube cache gc` drops what deleted runs left; the store lives where the settings say, within their size limit', async () => {
    const settings = tempDir('mlcube-cache-settings-');
    try {
      const gc0 = await mlcube(['cache', 'gc', `--workspace=${ws}`, '--json']);
      expect(gc0.exitCode, gc0.stderr).to.equal(0);
      expect(JSON.parse(gc0.stdout)).to.deep.include({ entries_kept: 5, entries_removed: 0, objects_removed: 0, shared: false });
      const del = await mlcube(['runs', 'delete', latest(ws).d.run_id, `--workspace=${ws}`, '--force']);
      expect(del.exitCode, del.stderr).to.equal(0);
      const gc1 = JSON.parse((await mlcube(['cache', 'gc', `--workspace=${ws}`, '--json'])).stdout);
      expect(gc1).to.deep.include({ entries_kept: 4, entries_removed: 1 });
      expect(gc1.objects_removed, 'd/out.txt and d.log are no longer needed').to.be.at.least(1);
      const r = await run('--task=d');
      expect(r.stderr).to.match(/task "d": runs: /);
      expect(runsOf(ws, 'd')).to.equal(2);

      // A store elsewhere, with a limit of 1 byte: every object is evicted after each task, so nothing is restored.
      const file = join(settings.dir, 'mlcube.yaml');
      writeFileSync(file, 'cache:\n  dir: store\n  max_size: 1B\n');
      const env = { MLCUBE_SYSTEM_SETTINGS: file };
      rmSync(join(ws, 'a', 'out.txt'));
      const ran = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=a', '--no-cache'], { env });
      expect(ran.exitCode, ran.stderr).to.equal(0);
      expect(readdirSync(join(settings.dir, 'store', 'sha256')).flatMap((f) => readdirSync(join(settings.dir, 'store', 'sha256', f)))).to.deep.equal([]);
      rmSync(join(ws, 'a', 'out.txt'));
      const miss = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=a', '--log-level=info'], { env });
      expect(miss.stderr).to.match(/task "a": runs: the store lacks/);
      const bad = await mlcube(['cache', 'gc', `--workspace=${ws}`], { env: { MLCUBE_SYSTEM_SETTINGS: (writeFileSync(file, 'cache:\n  max_size: lots\n'), file) } });
      expect(bad.exitCode).to.equal(2);
      expect(bad.stderr).to.match(/mlcube\.yaml:2:\d+.*cache\.max_size: "lots" is not a size/);
    } finally {
      settings.cleanup();
    }
  });
});
