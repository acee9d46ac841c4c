import { expect } from 'chai';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { CLI, REPO, copyFixture, mlcube, readJson, tempDir } from '../helpers/cli.js';
import { SlurmRunner } from '../../runners/slurm.js';
import { DockerRunner } from '../../runners/docker.js';
import { states, submittedIds, waitFor } from '../helpers/slurm.js';
import { recordsByTask } from '../helpers/graph.js';

/** A real single-node Slurm cluster (slurm-wlm + munge; .ci/run starts it): sbatch chains, scontrol, scancel. */
describe('slurm platform against a real Slurm cluster (integration)', function () {
  let cube: { dir: string; cleanup: () => void };
  const run = (args: string[]) => mlcube(['run', `--mlcube=${cube.dir}`, '--platform=slurm', '-Pslurm.inner=local', '-Pslurm.poll_seconds=0.3', ...args]);
  const ids = submittedIds;

  before(async function () {
    const a = await new SlurmRunner().probe();
    if (!a.available) {
      console.warn(`    skip: slurm integration tests need a Slurm cluster (sbatch + slurmctld; .ci/run starts one): ${a.reason}`);
      this.skip();
    }
  });
  beforeEach(() => (cube = copyFixture('basic')));
  afterEach(() => cube.cleanup());

  it('a two-task chain runs as two sbatch jobs, the second after the first (afterok), output streamed back', async () => {
    const started = Date.now();
    const r = await run(['--task=copy,consume']);
    expect(r.exitCode, r.stderr).to.equal(0);
    const [a, b] = ids(r.stderr);
    expect(r.stderr).to.contain(`submitted Slurm job ${b} (after ${a} succeeds)`);
    expect(r.stderr).to.contain('running task "consume" on the host'); // the inner CLI's log, from the job's .err file
    expect(readFileSync(join(cube.dir, 'workspace', 'summary.txt'), 'utf8')).to.equal('a.txt,b.txt,cfg.yaml\n');
    expect(await states([a, b])).to.deep.equal({ [a]: 'COMPLETED', [b]: 'COMPLETED' });
    console.warn(`    (two-job chain round trip ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  });

  it('a two-task chain leaves two signed records, written by the jobs, the second linked to the first by lineage; both verify', async () => {
    const keys = tempDir('mlcube-slurm-keys-');
    try {
      const g = await mlcube(['keys', 'generate', `--dir=${keys.dir}`, '--json']);
      expect(g.exitCode, g.stderr).to.equal(0);
      const { keyid } = JSON.parse(g.stdout);
      // The key named relative to where mlcube is started (the jobs run in the workspace), and sbatch told to pass the
      // jobs none of our environment (as a site's SBATCH_EXPORT=NONE does): the job script must carry the key itself.
      const r = await mlcube(
        [
          'run',
          `--mlcube=${cube.dir}`,
          '--platform=slurm',
          '-Pslurm.inner=local',
          '-Pslurm.poll_seconds=0.3',
          '-Pslurm.sbatch_args=--export=NONE',
          `-Plocal.command=${process.execPath} task.mjs`,
          '--task=copy,consume',
        ],
        {
          cwd: keys.dir,
          env: { MLCUBE_SIGNING_KEY: 'signing.key' },
        },
      );
      expect(r.exitCode, r.stderr).to.equal(0);
      const runs = join(cube.dir, 'workspace', '.mlcube', 'runs');
      const records = readdirSync(runs, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => readJson(join(runs, d.name, 'record.json')))
        .sort((a, b) => a.started_at.localeCompare(b.started_at));
      expect(records.map((x) => [x.task, x.status, x.runner, x.signature?.keyid])).to.deep.equal([
        ['copy', 'succeeded', 'local', keyid],
        ['consume', 'succeeded', 'local', keyid],
      ]);
      const [copy, consume] = records;
      expect(consume.lineage).to.deep.equal([{ input: 'out_dir', run_id: copy.run_id, task: 'copy', output: 'out_dir', sha256: copy.parameters.find((p: any) => p.name === 'out_dir').digest.sha256 }]);
      for (const x of records) {
        const v = await mlcube(['provenance', 'verify', x.run_id, `--workspace=${join(cube.dir, 'workspace')}`, `--public-key=${join(keys.dir, 'signing.pub')}`]);
        expect(v.exitCode, v.stderr).to.equal(0);
        expect(v.stdout).to.contain(`run ${x.run_id}: verified`);
      }
    } finally {
      keys.cleanup();
    }
  });

  it('a failing first task: its exit code comes back and the dependent job is cancelled, not run', async () => {
    writeFileSync(join(cube.dir, 'workspace', 'input', 'cfg.yaml'), 'exit_code: 5\n');
    // copy waits for fail (depends_on): the two are independent in the cube file.
    const r = await run(['--task=fail,copy', '-Ptasks.copy.depends_on=[fail]']);
    expect(r.exitCode, r.stderr).to.equal(5);
    expect(r.stderr).to.contain('failing on purpose with 5').and.contain('not run: copy');
    const [a, b] = ids(r.stderr);
    expect(await states([a, b])).to.deep.equal({ [a]: 'FAILED', [b]: 'CANCELLED' });
    expect(existsSync(join(cube.dir, 'workspace', 'reports', 'report.txt'))).to.equal(false);
  });

  it("run --json: one document on stdout (the jobs' streamed stdout goes to stderr), with the jobs, the tasks and the error", async () => {
    const r = await run(['--task=report,fail', '--json', '-Ptasks.fail.depends_on=[report]']);
    expect(r.exitCode, r.stderr).to.equal(7);
    const doc = JSON.parse(r.stdout);
    expect(doc.tasks.map((t: any) => [t.task, t.status, t.exit_code])).to.deep.equal([
      ['report', 'succeeded', 0],
      ['fail', 'failed', 7],
    ]);
    expect(doc.jobs.map((j: any) => [j.task, j.job_id])).to.deep.equal([
      ['report', ids(r.stderr)[0]],
      ['fail', ids(r.stderr)[1]],
    ]);
    expect(doc.error).to.include({ code: 'MLCUBE_TASK_FAILED', exit_code: 7, task: 'fail' });
    expect(r.stderr).to.contain('report: stdout line');
  });

  it("a failed release gate: the job's own mlcube evaluates it and exits 7, which fails the job; the next job is cancelled", async () => {
    const g = copyFixture('gates');
    try {
      const r = await mlcube(['run', `--mlcube=${g.dir}`, '--platform=slurm', '-Pslurm.inner=local', '-Pslurm.poll_seconds=0.3', '--task=score,publish', '-Ptasks.score.gates.accuracy.min=0.999']);
      expect(r.exitCode, r.stderr).to.equal(7);
      expect(r.stderr).to.contain('MLCUBE_GATE_FAILED: task "score": release gates failed (1 of 5)'); // the job's stderr, streamed back
      expect(r.stderr).to.contain('not run: publish');
      const [a, b] = ids(r.stderr);
      expect(await states([a, b])).to.deep.equal({ [a]: 'FAILED', [b]: 'CANCELLED' });
      const runs = join(g.dir, 'workspace', '.mlcube', 'runs');
      const rec = readJson(
        join(
          runs,
          readdirSync(runs).find((d) => d.includes('-score-'))!,
          'record.json',
        ),
      );
      expect([rec.status, rec.exit_code, rec.gates.release]).to.deep.equal(['failed', 7, 'failed']);
    } finally {
      g.cleanup();
    }
  });

  it("--timeout: the job's own mlcube stops the task within 2 s of it (record timed_out); the job fails with 124 and has a --time", async () => {
    const r = await run(['--task=sleep', '--timeout=2s', '--log-level=debug']);
    expect(r.exitCode, r.stderr).to.equal(124);
    expect(r.stderr).to.contain('MLCUBE_TASK_TIMED_OUT: task "sleep": the task ran past its timeout of 2 s');
    expect(r.stderr).to.match(/sbatch .*--time=2 /);
    const [id] = ids(r.stderr);
    expect(await states([id])).to.deep.equal({ [id]: 'FAILED' });
    const rec = recordsByTask(join(cube.dir, 'workspace')).sleep;
    expect(rec).to.include({ status: 'timed_out', exit_code: 124 });
    expect(rec.end - rec.start).to.be.within(2000, 4000 + 1000);
  });

  it('--detach prints the job ids as JSON; status follows them; cancel stops them', async () => {
    const r = await run(['--task=sleep,copy', '--detach', '-Ptasks.copy.depends_on=[sleep]']);
    expect(r.exitCode, r.stderr).to.equal(0);
    const jobs = JSON.parse(r.stdout).jobs as { task: string; job_id: string }[];
    expect(jobs.map((j) => j.task)).to.deep.equal(['sleep', 'copy']);
    const [a, b] = jobs.map((j) => j.job_id);
    await waitFor(async () => (await states([a, b]))[a] === 'RUNNING');
    const ws = await mlcube(['status', `--workspace=${join(cube.dir, 'workspace')}`]);
    expect(ws.stdout).to.match(new RegExp(`${b}\\s+copy\\s+PENDING`));
    const c = await mlcube(['cancel', a, b]);
    expect(c.exitCode, c.stderr).to.equal(0);
    await waitFor(async () => Object.values(await states([a, b])).every((s) => s === 'CANCELLED'));
  });

  it('Ctrl-C while attached cancels the jobs it submitted and exits 130', async () => {
    const child = execa('node', [CLI, 'run', `--mlcube=${cube.dir}`, '--platform=slurm', '-Pslurm.inner=local', '-Pslurm.poll_seconds=0.3', '--task=sleep,copy', '-Ptasks.copy.depends_on=[sleep]'], {
      reject: false,
      env: { MLCUBE_SYSTEM_SETTINGS: '/nonexistent/s.yaml' },
    });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    let exited = false;
    void child.finally(() => (exited = true));
    await waitFor(() => exited || existsSync(join(cube.dir, 'workspace', 'sleep', 'marker.txt')));
    expect(exited, err).to.equal(false);
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode, err).to.equal(130);
    const [a, b] = ids(err);
    await waitFor(async () => Object.values(await states([a, b])).every((s) => s === 'CANCELLED'));
  });

  it('the docker inner runner runs the task in a container on the compute node', async function () {
    const d = await new DockerRunner().probe();
    if (!d.available) {
      console.warn(`    skip: no Docker daemon for the docker inner runner: ${d.reason}`);
      return this.skip();
    }
    expect((await mlcube(['base-image'])).exitCode).to.equal(0);
    const tag = `mlcube-test/basic-slurm:${process.pid}`;
    try {
      const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=slurm', '-Pslurm.inner=docker', `-Pdocker.image=${tag}`, '-Pslurm.poll_seconds=0.3', '--task=copy,consume']);
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(r.stderr).to.contain('in container');
      const report = JSON.parse(readFileSync(join(cube.dir, 'workspace', 'reports', 'report.txt'), 'utf8'));
      expect(report.args[0]).to.equal('--in_dir=/mlcube_io0');
      expect(readFileSync(join(cube.dir, 'workspace', 'summary.txt'), 'utf8')).to.equal('a.txt,b.txt,cfg.yaml\n');
    } finally {
      await execa('docker', ['rmi', '-f', tag], { reject: false });
    }
  });

  it('the MNIST cube: download -> train chain through Slurm (local inner runner, one tiny epoch)', async function () {
    const mnist = join(REPO, 'cubes', 'mnist');
    if (!existsSync(join(mnist, 'dist', 'main.js')) || !existsSync(join(REPO, 'cubes', 'mnist', 'workspace', 'mnist-offline.npz'))) {
      console.warn('    skip: the MNIST cube is not built (cubes/mnist/dist/main.js, cubes/mnist/workspace/mnist-offline.npz); run npm run build');
      return this.skip();
    }
    const ws = tempDir('mlcube-slurm-mnist-');
    try {
      for (const f of ['data.yaml', 'mnist-offline.npz']) copyFileSync(join(REPO, 'cubes', 'mnist', 'workspace', f), join(ws.dir, f));
      writeFileSync(join(ws.dir, 'train.yaml'), 'model: mlp\ntrain_epochs: 1\nbatch_size: 128\nseed: 1\nworkers: 1\n');
      mkdirSync(join(ws.dir, 'logs'), { recursive: true });
      const r = await mlcube(['run', `--mlcube=${mnist}`, '--platform=slurm', '-Pslurm.inner=local', '-Pslurm.poll_seconds=0.5', '--task=download,train', `--workspace=${ws.dir}`]);
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(ids(r.stderr)).to.have.length(2);
      expect(existsSync(join(ws.dir, 'model', 'model.json'))).to.equal(true);
      expect(r.stderr).to.match(/epoch 1\/1/);
    } finally {
      ws.cleanup();
    }
  });
});
