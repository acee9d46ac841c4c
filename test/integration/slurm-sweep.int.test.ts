import { expect } from 'chai';
import { copyFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { REPO, copyFixture, mlcube, readJson, tempDir } from '../helpers/cli.js';
import { states, submittedIds } from '../helpers/slurm.js';
import { SlurmRunner } from '../../runners/slurm.js';

/** The array job id `mlcube run --sweep` logged, and how many elements it said. */
const arrayOf = (stderr: string) => {
  const m = /sweep: submitted Slurm array job (\d+) of (\d+) elements/.exec(stderr);
  return m ? { id: m[1], elements: Number(m[2]) } : undefined;
};

/** The elements of an array job as scontrol shows them (works without slurmdbd): ArrayTaskId -> JobState. */
async function arrayElements(id: string): Promise<Record<string, string>> {
  const r = await execa('scontrol', ['show', 'job', '-o', id], { reject: false });
  const out: Record<string, string> = {};
  for (const line of String(r.stdout).split('\n').filter(Boolean)) {
    const f = Object.fromEntries([...line.matchAll(/(\w+)=(\S*)/g)].map((m) => [m[1], m[2]]));
    expect(f.ArrayJobId, line).to.equal(id);
    out[f.ArrayTaskId] = f.JobState;
  }
  return out;
}

const records = (ws: string) => {
  const dir = join(ws, '.mlcube', 'runs');
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => readJson(join(dir, d.name, 'record.json')));
};

const MODE = 'tasks.b.parameters.inputs.mode.default';

/** A sweep on the real cluster .ci/run starts: the points are ONE array job, afterok on the shared tasks' jobs. */
describe('slurm: a sweep is one job array (integration)', function () {
  this.timeout(300_000);

  before(async function () {
    const a = await new SlurmRunner().probe();
    if (!a.available) {
      console.warn(`    skip: slurm sweep tests need a Slurm cluster (sbatch + slurmctld; .ci/run starts one): ${a.reason}`);
      this.skip();
    }
  });

  it('the diamond fixture, three points: the shared a and c as jobs, one array of three elements after both; a failing point fails alone; the records say each point', async () => {
    const cube = copyFixture('diamond');
    try {
      const r = await mlcube([
        'run',
        `--mlcube=${cube.dir}`,
        '--platform=slurm',
        '-Pslurm.inner=local',
        '-Pslurm.poll_seconds=0.3',
        `--sweep=${MODE}=modes/ok.txt,modes/fail.txt,modes/ok.txt`,
        '--experiment=slurm-dia',
        '--json',
      ]);
      expect(r.exitCode, r.stderr).to.equal(3);
      const arr = arrayOf(r.stderr);
      expect(arr, r.stderr).to.deep.equal({ id: arr?.id, elements: 3 });
      const [a, c] = submittedIds(r.stderr);
      expect(r.stderr).to.contain(`submitted Slurm array job ${arr!.id} of 3 elements (b, d, e each) (after ${a} and ${c} succeed)`);
      expect(await arrayElements(arr!.id)).to.deep.equal({ '0': 'COMPLETED', '1': 'FAILED', '2': 'COMPLETED' });
      expect(await states([a, c])).to.deep.equal({ [a]: 'COMPLETED', [c]: 'COMPLETED' });
      const doc = JSON.parse(r.stdout);
      expect(doc.points.map((p: { status: string; exit_code: number }) => [p.status, p.exit_code])).to.deep.equal([
        ['succeeded', 0],
        ['failed', 3],
        ['succeeded', 0],
      ]);
      expect(doc.error).to.include({ code: 'MLCUBE_TASK_FAILED', exit_code: 3 });
      const recs = records(join(cube.dir, 'workspace'));
      const id = doc.sweep.id;
      expect(recs.map((x) => `${x.task}#${x.sweep.point}:${x.status}`).sort()).to.deep.equal(
        ['a#null:succeeded', 'c#null:succeeded', 'b#0:succeeded', 'd#0:succeeded', 'e#0:succeeded', 'b#1:failed', 'b#2:succeeded', 'd#2:succeeded', 'e#2:succeeded'].sort(),
      );
      for (const x of recs) expect(x).to.deep.include({ experiment: 'slurm-dia' }).and.nested.include({ 'sweep.id': id });
      const cmp = JSON.parse((await mlcube(['runs', 'compare', `--sweep=${id}`, `--mlcube=${cube.dir}`, '--json'])).stdout);
      expect(cmp.points.map((p: { status: string }) => p.status)).to.deep.equal(['succeeded', 'failed', 'succeeded']);
    } finally {
      cube.cleanup();
    }
  });

  it('the MNIST sweep (two learning rates x two architectures, quick configuration): download as a job, the four points as one array of four elements, one table', async () => {
    const ws = tempDir('mlcube-mnist-slurm-sweep-');
    try {
      for (const f of ['data.yaml', 'mnist-offline.npz', 'train-quick.yaml']) copyFileSync(join(REPO, 'cubes', 'mnist', 'workspace', f), join(ws.dir, f));
      const r = await mlcube([
        'run',
        `--mlcube=${join(REPO, 'cubes', 'mnist')}`,
        '--platform=slurm',
        '-Pslurm.inner=local',
        '-Pslurm.poll_seconds=0.5',
        '--task=download,train,evaluate',
        `--workspace=${ws.dir}`,
        'train_config=train-quick.yaml',
        '-Ptasks.evaluate.gates.test_accuracy.min=0.5',
        '-Ptasks.evaluate.gates.min_class_accuracy.min=0.2',
        '--sweep=train-quick.yaml:learning_rate=0.001,0.003',
        '--sweep=train-quick.yaml:model=mlp,shallow_net',
        '--json',
      ]);
      expect(r.exitCode, r.stderr).to.equal(0);
      const arr = arrayOf(r.stderr);
      expect(arr?.elements, r.stderr).to.equal(4);
      expect(submittedIds(r.stderr), 'one job besides the array: download').to.have.length(1);
      expect(await arrayElements(arr!.id)).to.deep.equal({ '0': 'COMPLETED', '1': 'COMPLETED', '2': 'COMPLETED', '3': 'COMPLETED' });
      const id = JSON.parse(r.stdout).sweep.id;
      const cmp = JSON.parse((await mlcube(['runs', 'compare', `--sweep=${id}`, `--workspace=${ws.dir}`, '--json'])).stdout);
      expect(cmp.points.map((p: { values: Record<string, unknown> }) => Object.values(p.values))).to.deep.equal([
        [0.001, 'mlp'],
        [0.001, 'shallow_net'],
        [0.003, 'mlp'],
        [0.003, 'shallow_net'],
      ]);
      for (const p of cmp.points) {
        expect(p.status).to.equal('succeeded');
        expect(p.metrics['evaluate.test_accuracy']).to.be.within(0.5, 1);
      }
    } finally {
      ws.cleanup();
    }
  });
});
