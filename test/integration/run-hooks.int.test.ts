import { expect } from 'chai';
import { existsSync, readdirSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { runTasks, type RunOptions } from '../../src/app/run.js';
import type { AppEnv } from '../../src/app/context.js';
import { TaskFailedError } from '../../src/errors.js';
import type { RunHook, TaskOutcome } from '../../src/hooks/hook.js';
import { createLogger } from '../../src/log.js';
import { RECORDS_DIR } from '../../src/params/isolation.js';
import type { RunPlan } from '../../src/plan/run-plan.js';
import { SlurmRunner } from '../../runners/slurm.js';
import { copyFixture, readJson } from '../helpers/cli.js';
import { requireDockerBaseImage } from '../helpers/docker.js';

/** What a test hook saw of one task: its resolved parameters on the way in, its outcome on the way out. */
interface Seen {
  task: string;
  batch: boolean;
  params: string[];
  containerPaths: (string | null)[];
  outcome?: TaskOutcome;
}

/** A hook registered by the test, as a feature would register one: it keeps what each step of the run showed it. */
function watcher() {
  const seen: Seen[] = [];
  const calls: string[] = [];
  let after: readonly TaskOutcome[] | undefined;
  let plan: RunPlan | undefined;
  const hook: RunHook = {
    name: 'test-watcher',
    beforeRun(p) {
      plan = p;
      calls.push(`beforeRun ${p.tasks.map((t) => t.name).join(',')}`);
    },
    async aroundTask(task, ctx, next) {
      const s: Seen = { task: task.name, batch: ctx.batch, params: task.params.map((p) => `${p.io} ${p.name} ${p.type} ${p.hostPath}`), containerPaths: task.containerPaths };
      seen.push(s);
      calls.push(`aroundTask ${task.name}`);
      s.outcome = await next();
      return s.outcome;
    },
    afterRun(_p, results) {
      after = results;
      calls.push(`afterRun ${results.map((r) => `${r.task}=${r.exitCode}`).join(',')}`);
    },
  };
  return { hook, seen, calls, after: () => after, plan: () => plan };
}

/** The copy -> consume chain of the fixture cube as resolved when each task starts (consume's input exists by then). */
const chain = (ws: string) => [
  { task: 'copy', params: [`input in_dir directory ${ws}/input`, `input cfg file ${ws}/input/cfg.yaml`, `output out_dir directory ${ws}/out`, `output report file ${ws}/reports/report.txt`] },
  { task: 'consume', params: [`input out_dir directory ${ws}/out`, `output summary file ${ws}/summary.txt`] },
];

const recordsOf = (ws: string) => {
  const runs = join(ws, RECORDS_DIR, 'runs');
  return existsSync(runs)
    ? readdirSync(runs, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => readJson(join(runs, d.name, 'record.json')))
    : [];
};

describe('a hook registered by a test sees every task of a run, with its resolved parameters and its result (integration)', () => {
  let cube: { dir: string; cleanup: () => void };
  let ws: string;
  const app = (): AppEnv => ({ cwd: cube.dir, env: { ...process.env, MLCUBE_SYSTEM_SETTINGS: join(tmpdir(), 'mlcube-test-no-settings.yaml') }, home: homedir(), log: createLogger('warning') });
  const run = (o: Partial<RunOptions>, hooks: RunHook[]) => runTasks({ mlcube: cube.dir, platform: 'local', tasks: 'copy,consume', signal: new AbortController().signal, ...o }, app(), { hooks });

  beforeEach(() => {
    cube = copyFixture('basic');
    ws = join(cube.dir, 'workspace');
  });
  afterEach(() => cube.cleanup());

  it('local: each task in order, inside the run record (its usage measured), then afterRun with the outcomes', async () => {
    const w = watcher();
    const results = await run({}, [w.hook]);
    expect(w.seen.map(({ task, params }) => ({ task, params }))).to.deep.equal(chain(ws));
    expect(w.seen.map((s) => [s.batch, s.containerPaths.every((p) => p === null)])).to.deep.equal([
      [false, true],
      [false, true],
    ]);
    for (const s of w.seen) {
      expect(s.outcome).to.include({ task: s.task, exitCode: 0 });
      expect(s.outcome!.durationMs).to.be.a('number').and.at.least(0);
      // The task ran with the record's TaskIo (the provenance hook is outside this one): its usage was measured.
      expect(s.outcome!.usage?.method).to.match(/^proc-/);
    }
    expect(w.calls).to.deep.equal(['beforeRun copy,consume', 'aroundTask copy', 'aroundTask consume', 'afterRun copy=0,consume=0']);
    expect(w.after()!.map((r) => r.runId)).to.deep.equal(results.map((r) => r.runId));
    expect(
      recordsOf(ws)
        .map((r) => r.run_id)
        .sort(),
    ).to.deep.equal(results.map((r) => r.runId).sort());
    expect(w.plan()!.runner).to.deep.equal({ name: 'local', capabilities: { seesHostPaths: true, batch: false, enforcesReadOnly: false } });
  });

  it("local: a failing task's exit code reaches the hook, the run stops there, afterRun still sees it", async () => {
    const w = watcher();
    // copy waits for fail (depends_on): in the cube file the two are independent and would both run.
    const e = await run({ tasks: 'fail,copy', params: ['tasks.copy.depends_on=[fail]'] }, [w.hook]).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).to.be.instanceOf(TaskFailedError);
    expect((e as TaskFailedError).exitCode).to.equal(7);
    expect(w.seen.map((s) => [s.task, s.outcome?.exitCode])).to.deep.equal([['fail', 7]]);
    expect(w.calls).to.deep.equal(['beforeRun fail,copy', 'aroundTask fail', 'afterRun fail=7']);
  });

  it("docker: each task with its /mlcube_io container paths and the container's exit code", async function () {
    await requireDockerBaseImage(this, 'the docker run of this suite needs a Docker daemon');
    const tag = `mlcube-test/basic-hooks:${process.pid}`;
    try {
      const w = watcher();
      const results = await run({ platform: 'docker', params: [`docker.image=${tag}`] }, [w.hook]);
      expect(w.seen.map(({ task, params }) => ({ task, params }))).to.deep.equal(chain(ws));
      expect(w.seen.map((s) => s.containerPaths)).to.deep.equal([
        ['/mlcube_io0', '/mlcube_io0/cfg.yaml', '/mlcube_io1', '/mlcube_io2/report.txt'],
        ['/mlcube_io0', '/mlcube_io1/summary.txt'],
      ]);
      expect(w.seen.map((s) => [s.batch, s.outcome?.exitCode, s.outcome?.usage?.method !== undefined])).to.deep.equal([
        [false, 0, true],
        [false, 0, true],
      ]);
      expect(w.calls.at(-1)).to.equal('afterRun copy=0,consume=0');
      expect(recordsOf(ws).map((r) => [r.task, r.runner, r.parameters[0].container_path])).to.have.deep.members([
        ['copy', 'docker', '/mlcube_io0'],
        ['consume', 'docker', '/mlcube_io0'],
      ]);
      expect(results.every((r) => r.runId)).to.equal(true);
    } finally {
      await execa('docker', ['rmi', '-f', tag], { reject: false });
    }
  });

  it("slurm: each task of the chain once its job ended, with the job's exit code; the records are the jobs' own", async function () {
    const a = await new SlurmRunner().probe();
    if (!a.available) {
      console.warn(`    skip: the slurm run of this suite needs a Slurm cluster (sbatch + slurmctld; .ci/run starts one): ${a.reason}`);
      return this.skip();
    }
    const w = watcher();
    const results = await run({ platform: 'slurm', params: ['slurm.inner=local', 'slurm.poll_seconds=0.3'] }, [w.hook]);
    expect(w.seen.map(({ task, params }) => ({ task, params }))).to.deep.equal(chain(ws));
    expect(w.seen.map((s) => [s.batch, s.outcome?.exitCode])).to.deep.equal([
      [true, 0],
      [true, 0],
    ]);
    expect(w.calls).to.deep.equal(['beforeRun copy,consume', 'aroundTask copy', 'aroundTask consume', 'afterRun copy=0,consume=0']);
    // Written on the node by each job's own `mlcube run` (another process), not by this one around the jobs.
    const records = recordsOf(ws);
    expect(records.map((r) => [r.task, r.status]).sort()).to.deep.equal([
      ['consume', 'succeeded'],
      ['copy', 'succeeded'],
    ]);
    expect(records.every((r) => r.pid !== process.pid)).to.equal(true);
    expect(results.map((r) => [r.task, r.exitCode, r.runId])).to.deep.equal([
      ['copy', 0, undefined],
      ['consume', 0, undefined],
    ]);
  });

  it("slurm: a failing job's exit code reaches the hook, and the task after it never passes through", async function () {
    const a = await new SlurmRunner().probe();
    if (!a.available) {
      console.warn(`    skip: the slurm run of this suite needs a Slurm cluster (sbatch + slurmctld; .ci/run starts one): ${a.reason}`);
      return this.skip();
    }
    const w = watcher();
    const e = await run({ platform: 'slurm', tasks: 'fail,copy', params: ['slurm.inner=local', 'slurm.poll_seconds=0.3', 'tasks.copy.depends_on=[fail]'] }, [w.hook]).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect((e as TaskFailedError).exitCode).to.equal(7);
    expect(w.seen.map((s) => [s.task, s.batch, s.outcome?.exitCode])).to.deep.equal([['fail', true, 7]]);
    expect(w.calls.at(-1)).to.equal('afterRun fail=7');
  });
});
