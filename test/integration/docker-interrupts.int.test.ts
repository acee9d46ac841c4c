import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import Docker from 'dockerode';
import { CLI, copyFixture, mlcube, readJson } from '../helpers/cli.js';
import { sleep, waitFor } from '../helpers/processes.js';
import { requireDockerBaseImage } from '../helpers/docker.js';

const docker = new Docker();
const TAG = `mlcube-test/basic:interrupts-${process.pid}`;

/**
 * Interrupts and kills of `mlcube run --platform=docker` against a real dockerd (issue #13): a stop reaches the
 * task through the container's init and ends in well under the 5 s grace; a SIGKILLed mlcube's container is
 * removed by the next mlcube command (found by its run-id label) and its record rewritten as killed; a Ctrl-C at
 * any moment from start-up on is never lost and leaves no container.
 */
describe('interrupts and kills on the docker runner against a real dockerd (integration)', function () {
  let cube: { dir: string; cleanup: () => void };
  let ws: string;
  const env = { MLCUBE_SYSTEM_SETTINGS: '/nonexistent/mlcube.yaml' };
  const start = (task: string, extra: string[] = []) =>
    execa('node', [CLI, 'run', `--mlcube=${cube.dir}`, '--platform=docker', `-Pdocker.image=${TAG}`, `--task=${task}`, ...extra], { reject: false, env });
  const containersOf = (label: string) => docker.listContainers({ all: true, filters: { label: [label] } });
  const ofCube = () => containersOf(`org.mlcommons.mlcube.cube=${cube.dir}`);
  const runIds = () =>
    existsSync(join(ws, '.mlcube', 'runs'))
      ? readdirSync(join(ws, '.mlcube', 'runs'), { withFileTypes: true })
          .filter((e) => e.isDirectory())
          .map((e) => e.name)
      : [];
  const marker = () => join(ws, 'sleep', 'marker.txt');
  const taskStarted = () => existsSync(marker()) && readFileSync(marker(), 'utf8') !== '';

  before(async function () {
    await requireDockerBaseImage(this, 'docker integration tests need a Docker daemon');
    cube = copyFixture('basic');
    const c = await mlcube(['configure', `--mlcube=${cube.dir}`, '--platform=docker', `-Pdocker.image=${TAG}`]);
    expect(c.exitCode, c.stderr).to.equal(0);
    cube.cleanup();
  });
  beforeEach(() => {
    cube = copyFixture('basic');
    ws = join(cube.dir, 'workspace');
  });
  afterEach(async () => {
    for (const c of await ofCube())
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined);
    cube.cleanup();
  });
  after(async () => {
    await docker
      .getImage(TAG)
      .remove({ force: true })
      .catch(() => undefined);
  });

  /** Ctrl-C once the task runs: exit code, seconds from the signal to mlcube's exit, stderr. */
  async function ctrlCDuringTask(extra: string[] = []) {
    rmSync(marker(), { force: true });
    const child = start('sleep', extra);
    expect(await waitFor(taskStarted, 30_000), 'task started').to.equal(true);
    expect(await ofCube()).to.have.length(1);
    const sent = Date.now();
    child.kill('SIGINT');
    const r = await child;
    return { exitCode: r.exitCode, seconds: (Date.now() - sent) / 1000, stderr: String(r.stderr) };
  }

  it('Ctrl-C during a task: the init passes SIGTERM to it, exit 130 in well under the 5 s grace, the message says how long, the container is removed', async () => {
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await ctrlCDuringTask();
      expect(r.exitCode, r.stderr).to.equal(130);
      expect(r.stderr).to.match(/container mlcube-basic-sleep-\w+ was stopped in \d+\.\d s \(SIGTERM\) and removed/);
      expect(await ofCube()).to.have.length(0);
      expect(readFileSync(marker(), 'utf8')).to.not.equal('finished');
      times.push(r.seconds);
    }
    console.log(`      Ctrl-C to exit (init): ${times.map((t) => `${t.toFixed(2)} s`).join(', ')}`);
    for (const t of times) expect(t).to.be.lessThan(2);
  });

  it('without the init (-Pdocker.init=false) the task is PID 1 and ignores SIGTERM: the stop waits out the grace (the figure before issue #13)', async () => {
    const r = await ctrlCDuringTask(['-Pdocker.init=false']);
    console.log(`      Ctrl-C to exit (no init): ${r.seconds.toFixed(2)} s`);
    expect(r.exitCode, r.stderr).to.equal(130);
    expect(r.stderr).to.match(/was stopped in 5\.\d s \(SIGTERM, then SIGKILL after 5 s\) and removed/);
    expect(r.seconds).to.be.greaterThan(4.5);
  });

  it('a SIGKILLed mlcube leaves its container running; the next `runs list` removes it (run-id label), shows the run killed, and the record on disk says killed', async () => {
    const child = start('sleep');
    expect(await waitFor(taskStarted, 30_000)).to.equal(true);
    const [id] = runIds();
    const label = `org.mlcommons.mlcube.run-id=${id}`;
    const [c] = await containersOf(label);
    expect(c?.Labels['org.mlcommons.mlcube.workspace']).to.equal(ws);
    const running = readJson(join(ws, '.mlcube', 'runs', id, 'record.json'));
    child.kill('SIGKILL');
    await child;
    await sleep(300);
    expect(
      (await containersOf(label)).map((x) => x.State),
      'what issue #13 saw: left running',
    ).to.deep.equal(['running']);

    const list = await mlcube(['runs', 'list', `--workspace=${ws}`, '--json']);
    expect(list.exitCode, list.stderr).to.equal(0);
    expect(await containersOf(label), 'no container with its label').to.have.length(0);
    expect(JSON.parse(list.stdout).runs.map((x: any) => [x.run_id, x.status])).to.deep.equal([[id, 'killed']]);
    expect(list.stderr).to.contain(`run ${id} (task "sleep", docker) was killed with its mlcube (pid ${running.pid}): removed container ${c.Names[0].slice(1)}`);
    const rec = readJson(join(ws, '.mlcube', 'runs', id, 'record.json'));
    expect(rec.status).to.equal('killed');
    expect(rec.reaped.actions[0]).to.contain(`removed container ${c.Names[0].slice(1)}`);
    expect(existsSync(running.reaping.metrics_dir), 'its metrics directory is removed').to.equal(false);
    expect(readFileSync(marker(), 'utf8')).to.not.equal('finished');
  });

  // Each offset lands in another phase: Node.js starting (a signal then ends the process by its default action,
  // which a shell reports as 130 too, before anything started), the CLI loading, the configuration, the
  // container's creation, its start, the task.
  for (const offset of [0, 50, 75, 100, 125, 150, 200, 400, 800]) {
    it(`a SIGINT ${offset} ms after start is never lost: exit 130 within 2 s, no container left`, async () => {
      const child = start('sleep');
      await sleep(offset);
      const sent = Date.now();
      child.kill('SIGINT');
      const r = await child;
      const took = Date.now() - sent;
      if (r.exitCode !== 130) {
        expect(r.signal, `exit ${r.exitCode}: ${r.stderr}`).to.equal('SIGINT');
        expect(taskStarted(), 'a SIGINT that ended mlcube by its default action came before anything started').to.equal(false);
      }
      console.log(`      SIGINT at ${offset} ms: ${r.exitCode === 130 ? 'exit 130' : `ended by ${r.signal}`} ${took} ms later, task ${taskStarted() ? 'had started' : 'never started'}`);
      expect(took, String(r.stderr)).to.be.lessThan(2000);
      expect(await ofCube(), 'no container left').to.have.length(0);
      expect(existsSync(marker()) ? readFileSync(marker(), 'utf8') : '').to.not.equal('finished');
      for (const id of runIds()) expect(readJson(join(ws, '.mlcube', 'runs', id, 'record.json')).status, id).to.equal('interrupted');
    });
  }
});
