import { expect } from 'chai';
import { join } from 'node:path';
import { execa } from 'execa';
import { REPO, copyFixture, mlcube, readJson, tempDir } from '../helpers/cli.js';
import { recordsByTask } from '../helpers/graph.js';
import { states, submittedIds, waitFor } from '../helpers/slurm.js';
import { SlurmRunner } from '../../runners/slurm.js';

/** `Dependency=` of a job as scontrol shows it while it waits, e.g. afterok:12(unfulfilled),afterok:13(unfulfilled). */
async function dependencyOf(id: string): Promise<string> {
  const r = await execa('scontrol', ['show', 'job', '-o', id], { reject: false });
  return /\bDependency=(\S*)/.exec(String(r.stdout))?.[1] ?? `(scontrol: ${String(r.stderr).trim()})`;
}

const afterokIds = (dependency: string) => [...dependency.matchAll(/afterok:(\d+)/g)].map((m) => m[1]).sort();

/** The diamond fixture cube (test/fixtures/cubes/diamond) as one submitted Slurm graph, on the real cluster .ci/run starts. */
describe('slurm: a task graph is submitted at once, afterok on every parent (integration)', function () {
  this.timeout(180_000);
  let cube: { dir: string; cleanup: () => void };
  const run = (args: string[]) => mlcube(['run', `--mlcube=${cube.dir}`, '--platform=slurm', '-Pslurm.inner=local', '-Pslurm.poll_seconds=0.3', ...args]);

  before(async function () {
    const a = await new SlurmRunner().probe();
    if (!a.available) {
      console.warn(`    skip: slurm graph tests need a Slurm cluster (sbatch + slurmctld; .ci/run starts one): ${a.reason}`);
      this.skip();
    }
  });
  beforeEach(() => (cube = copyFixture('diamond')));
  afterEach(() => cube.cleanup());

  it('any --task order: four jobs, a first; d waits for exactly b and c; all four complete and are recorded', async () => {
    const r = await run(['--task=d,c,b,a', '--detach']);
    expect(r.exitCode, r.stderr).to.equal(0);
    const jobs = JSON.parse(r.stdout).jobs as { task: string; job_id: string }[];
    expect(jobs.map((j) => j.task)).to.deep.equal(['a', 'b', 'c', 'd']);
    const id = Object.fromEntries(jobs.map((j) => [j.task, j.job_id]));
    // Read while a still runs (it naps 1.2 s): the dependencies are unfulfilled and scontrol lists them all.
    expect(afterokIds(await dependencyOf(id.d)), 'd waits for b and c').to.deep.equal([id.b, id.c].sort());
    expect(afterokIds(await dependencyOf(id.b)), 'b waits for a').to.deep.equal([id.a]);
    expect(afterokIds(await dependencyOf(id.c)), 'c waits for a').to.deep.equal([id.a]);
    await waitFor(async () => Object.values(await states(Object.values(id))).every((s) => s === 'COMPLETED'), 120_000);
    const recs = recordsByTask(join(cube.dir, 'workspace'));
    expect(Object.keys(recs).sort()).to.deep.equal(['a', 'b', 'c', 'd']);
    for (const t of ['a', 'b', 'c', 'd']) expect(recs[t].status, t).to.equal('succeeded');
  });

  it("a failing b: d is cancelled, c completes, and the run exits with b's code", async () => {
    const r = await run(['--task=a,b,c,d', 'mode=modes/fail.txt']);
    expect(r.exitCode, r.stderr).to.equal(3);
    const [a, b, c, d] = submittedIds(r.stderr);
    expect(await states([a, b, c, d])).to.deep.equal({ [a]: 'COMPLETED', [b]: 'FAILED', [c]: 'COMPLETED', [d]: 'CANCELLED' });
    expect(r.stderr).to.match(/MLCUBE_TASK_FAILED: task "b": task failed with exit code 3 on the slurm runner; not run: d/);
    const recs = recordsByTask(join(cube.dir, 'workspace'));
    expect(recs.c).to.include({ status: 'succeeded' });
    expect(recs.b).to.include({ status: 'failed', exit_code: 3 });
    expect(recs.d).to.equal(undefined);
  });
});

/** Dioptra's MNIST experiment (cubes/mnist/robustness.yaml, quick configuration) as one Slurm graph. */
describe("slurm: Dioptra's robustness workflow as one submitted graph (integration)", function () {
  this.timeout(600_000);
  before(async function () {
    const a = await new SlurmRunner().probe();
    if (!a.available) {
      console.warn(`    skip: needs a Slurm cluster (.ci/run starts one): ${a.reason}`);
      this.skip();
    }
  });

  it('seven jobs, the inferences after the attack, the report after both; the matrix comes back', async () => {
    const ws = tempDir('mlcube-robustness-slurm-');
    try {
      const r = await mlcube([
        'run',
        `--mlcube=${join(REPO, 'cubes', 'mnist', 'robustness.yaml')}`,
        '--platform=slurm',
        '-Pslurm.inner=local',
        '-Pslurm.poll_seconds=0.5',
        `--workspace=${ws.dir}`,
        '-Pconfig_suffix=-quick',
        '--json',
      ]);
      expect(r.exitCode, r.stderr.slice(-3000)).to.equal(0);
      const jobs = JSON.parse(r.stdout).jobs as { task: string; job_id: string }[];
      expect(jobs.map((j) => j.task)).to.deep.equal(['download', 'train_shallow', 'train_lenet', 'attack', 'infer_shallow', 'infer_lenet', 'report']);
      const id = Object.fromEntries(jobs.map((j) => [j.task, j.job_id]));
      // What each job was submitted to wait for, as run logs it: "task "x": submitted Slurm job N (after A and B succeed)".
      const after = Object.fromEntries(
        [...r.stderr.matchAll(/task "(\w+)": submitted Slurm job \d+(?: \(after ([\d and]+) succeeds?\))?/g)].map((m) => [m[1], (m[2] ?? '').split(' and ').filter(Boolean).sort()]),
      );
      const ids = (...tasks: string[]) => tasks.map((t) => id[t]).sort();
      expect(after.attack).to.deep.equal(ids('download', 'train_shallow', 'train_lenet'));
      expect(after.infer_shallow).to.include.members(ids('attack', 'train_shallow'));
      expect(after.infer_lenet).to.include.members(ids('attack', 'train_lenet'));
      expect(after.report).to.include.members(ids('infer_shallow', 'infer_lenet'));
      expect(after.download).to.deep.equal([]);
      const matrix = readJson(join(ws.dir, 'robustness', 'report', 'matrix.json'));
      expect(matrix.cells).to.have.length(2 * 2 * matrix.eps.length);
    } finally {
      ws.cleanup();
    }
  });
});
