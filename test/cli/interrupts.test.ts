import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { CLI, copyFixture, mlcube, readJson, REPO } from '../helpers/cli.js';
import { alive, markerPids, sizeOf, sleep, waitFor } from '../helpers/processes.js';

/**
 * Interrupts and kills of `mlcube run` on the local runner (issue #13): Ctrl-C stops the task's whole process
 * group; a SIGKILLed mlcube's task group is stopped, its metrics directory removed and its record rewritten as
 * killed by the next mlcube command on the workspace; a Ctrl-C at any moment from start-up on is never lost.
 */
describe('interrupts and kills on the local runner (fixture cube test/fixtures/cubes/basic)', () => {
  let cube: { dir: string; cleanup: () => void };
  let ws: string;
  const env = { MLCUBE_SYSTEM_SETTINGS: '/nonexistent/settings.yaml' };
  const start = (task: string) => execa('node', [CLI, 'run', `--mlcube=${cube.dir}`, '--platform=local', `--task=${task}`], { reject: false, env });
  const runDirs = () =>
    existsSync(join(ws, '.mlcube', 'runs'))
      ? readdirSync(join(ws, '.mlcube', 'runs'), { withFileTypes: true })
          .filter((e) => e.isDirectory())
          .map((e) => e.name)
      : [];
  const recordOf = (id: string) => readJson(join(ws, '.mlcube', 'runs', id, 'record.json'));
  beforeEach(() => {
    cube = copyFixture('basic');
    ws = join(cube.dir, 'workspace');
  });
  afterEach(() => cube.cleanup());

  it('Ctrl-C stops the task and the processes it started (its process group), exits 130 and says how long the stop took', async () => {
    const child = start('family');
    const [leader, grandchild] = await markerPids(join(ws, 'family', 'marker.txt'));
    expect(alive(grandchild), 'the task started a child').to.equal(true);
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode, String(r.stderr)).to.equal(130);
    expect(await waitFor(() => !alive(leader) && !alive(grandchild), 1000), 'task and its child stopped').to.equal(true);
    expect(String(r.stderr)).to.match(/its process group was stopped in \d+\.\d s \(SIGTERM\)/);
    const log = join(ws, 'family', 'ticks.log');
    const size = sizeOf(log);
    await sleep(300);
    expect(sizeOf(log), 'nothing writes any more').to.equal(size);
    const rec = recordOf(runDirs()[0]);
    expect(rec.status).to.equal('interrupted');
    expect(rec.reaping.task_pgid, 'the task leads its own process group').to.equal(leader);
  });

  it('a SIGKILLed mlcube leaves its task running; the next `runs list` stops its group, removes its metrics directory and rewrites the record as killed', async () => {
    const child = start('family');
    const [leader, grandchild] = await markerPids(join(ws, 'family', 'marker.txt'));
    const [id] = runDirs();
    const running = recordOf(id);
    expect(running.status).to.equal('running');
    expect(running.reaping.task_pgid).to.equal(leader);
    expect(running.reaping.task_start, 'start time of the group leader (/proc/<pid>/stat field 22)').to.be.a('number');
    expect(existsSync(running.reaping.metrics_dir)).to.equal(true);
    expect(existsSync(join(ws, '.mlcube', 'live', id)), 'live marker').to.equal(true);
    child.kill('SIGKILL');
    await child;
    // What issue #13 saw: the task and its child outlive mlcube, writing on.
    const log = join(ws, 'family', 'ticks.log');
    const before = sizeOf(log);
    await sleep(300);
    expect(alive(leader) && alive(grandchild), 'orphaned until something stops them').to.equal(true);
    expect(sizeOf(log)).to.be.greaterThan(before);

    const list = await mlcube(['runs', 'list', `--workspace=${ws}`, '--json']);
    expect(list.exitCode, list.stderr).to.equal(0);
    expect(JSON.parse(list.stdout).runs.map((x: any) => [x.run_id, x.status])).to.deep.equal([[id, 'killed']]);
    expect(list.stderr).to.contain(`run ${id} (task "family", local) was killed with its mlcube (pid ${running.pid})`);
    expect(alive(leader) || alive(grandchild), 'the task group was stopped').to.equal(false);
    const size = sizeOf(log);
    await sleep(300);
    expect(sizeOf(log), 'nothing writes any more').to.equal(size);
    const rec = recordOf(id);
    expect(rec.status, 'the record on disk says killed').to.equal('killed');
    expect(rec.exit_code).to.equal(null);
    expect(rec.reaped.actions).to.include(`stopped process group ${leader} (SIGTERM)`);
    expect(rec.reaped.actions).to.include(`removed its metrics directory ${running.reaping.metrics_dir}`);
    expect(existsSync(running.reaping.metrics_dir)).to.equal(false);
    expect(existsSync(join(ws, '.mlcube', 'live', id))).to.equal(false);
    // Killed runs never verify; a second look changes nothing.
    const v = await mlcube(['provenance', 'verify', id, `--workspace=${ws}`]);
    expect(v.exitCode).to.equal(5);
    expect(v.stderr).to.contain('status: the run is killed, not succeeded');
    const again = await mlcube(['runs', 'list', `--workspace=${ws}`]);
    expect(again.stderr).to.not.contain('was killed with its mlcube');
  });

  it('the next `mlcube run` on the workspace cleans up after a SIGKILLed one before its own task starts', async () => {
    const child = start('sleep');
    const [task] = await markerPids(join(ws, 'sleep', 'marker.txt'));
    const [id] = runDirs();
    child.kill('SIGKILL');
    await child;
    expect(alive(task)).to.equal(true);
    const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=copy']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stderr).to.contain(`run ${id} (task "sleep", local) was killed with its mlcube`);
    expect(r.stderr.indexOf('was killed with its mlcube'), 'before the new task').to.be.lessThan(r.stderr.indexOf('running task "copy"'));
    expect(alive(task)).to.equal(false);
    expect(recordOf(id).status).to.equal('killed');
  });

  it('never touches a live run: a concurrent `runs list` leaves a running task and its record alone', async () => {
    const child = start('sleep');
    try {
      const [task] = await markerPids(join(ws, 'sleep', 'marker.txt'));
      const list = await mlcube(['runs', 'list', `--workspace=${ws}`, '--json']);
      expect(JSON.parse(list.stdout).runs.map((x: any) => x.status)).to.deep.equal(['running']);
      expect(alive(task)).to.equal(true);
      expect(recordOf(runDirs()[0]).status).to.equal('running');
    } finally {
      child.kill('SIGINT');
      expect((await child).exitCode).to.equal(130);
    }
  });

  // Node.js takes ~40-70 ms here to reach the launcher's first line: a signal before that ends the process by the
  // signal itself (a shell reports 130 all the same) and nothing has started.
  for (const offset of [0, 50, 100, 200, 400]) {
    it(`a SIGINT ${offset} ms after start is never lost: exit 130 within 2 s, no task process left`, async () => {
      const child = start('sleep');
      await sleep(offset);
      const sent = Date.now();
      child.kill('SIGINT');
      const r = await child;
      const took = Date.now() - sent;
      const marker = join(ws, 'sleep', 'marker.txt');
      const started = existsSync(marker) && readFileSync(marker, 'utf8') !== '';
      if (r.exitCode !== 130) {
        expect(r.signal, `exit ${r.exitCode}: ${r.stderr}`).to.equal('SIGINT');
        expect(started, 'a SIGINT that ended mlcube by its default action came before anything started').to.equal(false);
      }
      expect(took, String(r.stderr)).to.be.lessThan(2000);
      if (started) {
        const pid = Number(readFileSync(marker, 'utf8'));
        expect(await waitFor(() => !alive(pid), 500), 'task process stopped').to.equal(true);
      }
      for (const id of runDirs()) expect(recordOf(id).status, id).to.equal('interrupted');
      expect(existsSync(join(ws, '.mlcube', 'live')) ? readdirSync(join(ws, '.mlcube', 'live')) : []).to.deep.equal([]);
    });
  }

  it("a signal that comes before the run has its AbortController (the launcher's latch) aborts it at once", async () => {
    // In one process: SIGINT to itself before withInterrupt is called, as a Ctrl-C while the CLI bundle loads.
    const script = `
      import { installSignalLatch } from ${JSON.stringify(join(REPO, 'dist', 'src', 'cli', 'signal-latch.js'))};
      import { withInterrupt } from ${JSON.stringify(join(REPO, 'dist', 'src', 'cli', 'interrupt.js'))};
      installSignalLatch();
      process.kill(process.pid, 'SIGINT');
      await new Promise((r) => setTimeout(r, 50)); // delivered, held by the latch
      try {
        await withInterrupt(async (signal) => { if (signal.aborted) throw new Error('aborted at once by ' + signal.reason); await new Promise((r) => setTimeout(r, 5000)); });
      } catch (e) { console.log(e.name, e.cause?.message ?? e.message); }
      process.kill(process.pid, 'SIGTERM'); // released after the run: the default action again
      await new Promise((r) => setTimeout(r, 1000));
      console.log('still alive');
    `;
    const r = await execa('node', ['--input-type=module', '-e', script], { reject: false });
    expect(String(r.stdout).trim()).to.equal('InterruptedError aborted at once by SIGINT');
    expect(r.signal).to.equal('SIGTERM');
  });
});
