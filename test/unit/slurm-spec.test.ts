import { expect } from 'chai';
import { arrayScript, innerArgv, jobExitCode, jobScript, parseJobId, parseScontrol, sbatchArgv, sharedPathProblems, type JobSpec } from '../../runners/slurm-spec.js';
import { slurmRunner } from '../../runners/slurm-config.js';
import { ConfigError } from '../../src/errors.js';

const runner = (over: Record<string, unknown> = {}) => ({
  runner: 'slurm',
  inner: 'singularity',
  partition: null,
  account: null,
  time: null,
  cpus_per_task: null,
  mem: null,
  gpus: null,
  sbatch_args: '',
  setup: [],
  node: null,
  log_dir: '/ws/.mlcube/slurm',
  poll_seconds: 2,
  '--gpus': null,
  '--mount_opts': '',
  ...over,
});
/** The slurm runner's settings of an effective configuration with this runner section. */
const cfg = (over: Record<string, unknown> = {}, platform: Record<string, unknown> = {}) =>
  slurmRunner.settings({ name: 'mnist', platform, runtime: { root: '/cube', workspace: '/ws' }, runner: runner(over) });
const job = (over: Partial<JobSpec> = {}): JobSpec => ({
  task: 'train',
  cube: 'mnist',
  mlcubeFile: '/shared/cubes/mnist/mlcube.yaml',
  workspace: '/scratch/me/ws',
  node: '/shared/node/bin/node',
  cli: '/shared/mlcube/dist/mlcube.cjs',
  inner: 'singularity',
  invocation: { mlcubeFile: '/shared/cubes/mnist/mlcube.yaml', params: ['singularity.image_dir=/scratch/sif'], taskArgs: ['train_config=/scratch/me/t.yaml'], flags: { mount: 'ro' } },
  ...over,
});
const submit = { task: 'train', cube: 'mnist', logDir: '/ws/.mlcube/slurm', workspace: '/ws' };

describe('slurm job specs (pure: sbatch argv, job script, scontrol parsing)', () => {
  it("a timeout becomes the Slurm job's --time (whole minutes, one more for the job's start) unless slurm.time sets one", () => {
    const s = cfg;
    const spec = { task: 't', cube: 'c', logDir: '/l', workspace: '/w' };
    expect(sbatchArgv({ ...spec, timeoutMs: 90_000 }, s()).filter((a) => a.startsWith('--time'))).to.deep.equal(['--time=3']);
    expect(sbatchArgv({ ...spec, timeoutMs: 60_000 }, s()).filter((a) => a.startsWith('--time'))).to.deep.equal(['--time=2']);
    expect(sbatchArgv({ ...spec, timeoutMs: 90_000 }, s({ time: '01:00:00' })).filter((a) => a.startsWith('--time'))).to.deep.equal(['--time=01:00:00']);
    expect(sbatchArgv({ ...spec, timeoutMs: null }, s()).some((a) => a.startsWith('--time'))).to.equal(false);
  });

  it('sbatch argv: partition, account, time, cpus, mem, gres, extra args; a chained job waits afterok and dies with its dependency', () => {
    expect(
      sbatchArgv({ ...submit, after: ['41'] }, cfg({ partition: 'gpu', account: 'proj', time: '01:00:00', cpus_per_task: 8, mem: '32G', gpus: 2, sbatch_args: '--qos=long --constraint "a100|h100"' })),
    ).to.deep.equal([
      'sbatch',
      '--parsable',
      '--job-name=mlcube-mnist-train',
      '--chdir=/ws',
      '--output=/ws/.mlcube/slurm/train-%j.out',
      '--error=/ws/.mlcube/slurm/train-%j.err',
      '--partition=gpu',
      '--account=proj',
      '--time=01:00:00',
      '--cpus-per-task=8',
      '--mem=32G',
      '--gres=gpu:2',
      '--dependency=afterok:41',
      '--kill-on-invalid-dep=yes',
      '--qos=long',
      '--constraint',
      'a100|h100',
    ]);
    // A task with several parents (the join of a diamond) waits for every one of them.
    expect(sbatchArgv({ ...submit, after: ['41', '42'] }, cfg()).filter((a) => a.startsWith('--dependency') || a.startsWith('--kill'))).to.deep.equal([
      '--dependency=afterok:41:42',
      '--kill-on-invalid-dep=yes',
    ]);
    expect(sbatchArgv({ ...submit, after: [] }, cfg()).some((a) => a.startsWith('--dependency'))).to.equal(false);
    expect(sbatchArgv(submit, cfg())).to.deep.equal([
      'sbatch',
      '--parsable',
      '--job-name=mlcube-mnist-train',
      '--chdir=/ws',
      '--output=/ws/.mlcube/slurm/train-%j.out',
      '--error=/ws/.mlcube/slurm/train-%j.err',
    ]);
  });

  describe('GPUs per job: slurm.gpus, else --gpus=N / device list / accelerator_count', () => {
    const cases: [string, Record<string, unknown>, Record<string, unknown>, number][] = [
      ['slurm.gpus', { gpus: 4 }, {}, 4],
      ['slurm.gpus wins over --gpus', { gpus: 1, '--gpus': '3' }, {}, 1],
      ['--gpus=N', { '--gpus': '2' }, {}, 2],
      ['a device list counts its devices', { '--gpus': 'device=0,3' }, {}, 2],
      ['platform.accelerator_count', {}, { accelerator_count: 1 }, 1],
      ['--gpus=0 wins over accelerator_count', { '--gpus': '0' }, { accelerator_count: 1 }, 0],
      ['nothing asked', {}, {}, 0],
    ];
    for (const [name, over, platform, n] of cases) it(name, () => expect(cfg(over, platform).gpusPerJob).to.equal(n));
    it('--gpus=all needs a count: a ConfigError when the settings are parsed', () => expect(() => cfg({ '--gpus': 'all' })).to.throw(ConfigError, /how many GPUs/));
  });

  it('the inner CLI run: absolute cube/workspace, inner platform, one task, -P and task overrides and --mount passed on, GPUs off when none', () => {
    expect(innerArgv(job(), 0)).to.deep.equal([
      '/shared/node/bin/node',
      '/shared/mlcube/dist/mlcube.cjs',
      'run',
      '--mlcube=/shared/cubes/mnist/mlcube.yaml',
      '--platform=singularity',
      '--task=train',
      '--workspace=/scratch/me/ws',
      '-Psingularity.image_dir=/scratch/sif',
      '--mount=ro',
      '--gpus=0',
      'train_config=/scratch/me/t.yaml',
    ]);
  });

  it("a chain's task overrides reach only the jobs whose task has that parameter", () => {
    const inv = { ...job().invocation, taskArgs: ['train_config=/t.yaml', '--data_dir=/d', 'summary=/s.txt'] };
    expect(innerArgv(job({ invocation: inv, params: ['data_dir', 'train_config', 'model_dir'] }), 1).slice(-2)).to.deep.equal(['train_config=/t.yaml', '--data_dir=/d']);
    expect(innerArgv(job({ invocation: inv, params: ['summary'] }), 1).slice(-1)).to.deep.equal(['summary=/s.txt']);
  });

  it('the job script quotes every word, checks shared paths on the compute node, runs the set-up lines, passes the GPUs Slurm allocated', () => {
    const s = jobScript(job({ workspace: "/scratch/it's ws" }), cfg({ setup: ['module load apptainer'], gpus: 1 }));
    expect(s.startsWith('#!/bin/bash\n')).to.equal(true);
    expect(s).to.match(/'\/scratch\/it'\\''s ws'|"\/scratch\/it's ws"/);
    expect(s).to.contain('is not visible on compute node').and.contain('exit 3');
    expect(s).to.contain('\nmodule load apptainer\n');
    expect(s).to.contain('gpus="--gpus=device=${CUDA_VISIBLE_DEVICES}"');
    expect(s.trim().split('\n').at(-1)).to.match(/^exec \/shared\/node\/bin\/node .* "\$gpus"$/);
  });

  it("the job script exports what the run's hooks need on the node (quoted, after the set-up lines, before the exec); none: no export", () => {
    const env = { MLCUBE_SIGNING_KEY: "/home/me/my keys/it's.key" };
    const lines = jobScript(job({ invocation: { ...job().invocation, env } }), cfg({ setup: ['module load apptainer'] }))
      .trim()
      .split('\n');
    expect(lines.at(-3)).to.equal('module load apptainer');
    expect(lines.at(-2)).to.match(/^export MLCUBE_SIGNING_KEY=('\/home\/me\/my keys\/it'\\''s\.key'|"\/home\/me\/my keys\/it's\.key")$/);
    expect(lines.at(-1)).to.match(/^exec /);
    expect(jobScript(job(), cfg())).to.not.contain('export ');
  });

  it("a sweep's array job: --array=0-(N-1), a log file per element; without --array otherwise", () => {
    const argv = sbatchArgv({ ...submit, task: 'sweep', array: 3 }, cfg());
    expect(argv).to.include.members(['--array=0-2', '--output=/ws/.mlcube/slurm/sweep-%A_%a.out', '--error=/ws/.mlcube/slurm/sweep-%A_%a.err', '--job-name=mlcube-mnist-sweep']);
    expect(sbatchArgv(submit, cfg()).some((a) => a.startsWith('--array'))).to.equal(false);
  });

  it("the array script runs element k's inner mlcube run (its -P, task overrides, labels) by $SLURM_ARRAY_TASK_ID, and fails an unknown element", async () => {
    const el = (k: number) => ({
      invocation: { ...job().invocation, params: [`tasks.train.parameters.outputs.model_dir.default=sweeps/s/${k}/model`], taskArgs: [`seed=${k}`] },
      env: { MLCUBE_RUN_LABELS: `{"sweep":{"point":${k}}}` },
    });
    const script = arrayScript(job({ task: 'train,evaluate', invocation: { ...job().invocation, env: { MLCUBE_SIGNING_KEY: '/k' } } }), [el(0), el(1)], cfg({ setup: ['module load x'] }), 'sweep s');
    const lines = script.split('\n');
    expect(lines[1]).to.equal('# mlcube: sweep s: tasks train,evaluate of mnist on the singularity platform, one point per array element (generated by mlcube run --platform=slurm)');
    expect(lines.indexOf('export MLCUBE_SIGNING_KEY=/k')).to.be.greaterThan(lines.indexOf('module load x'));
    expect(lines.filter((l) => /^ {2}\d\) /.test(l))).to.have.length(2);
    // bash runs it: element k's labels and argv; an element the array lacks exits 2.
    const { execa } = await import('execa');
    const fake = script
      .replace(/exec \/shared\/node\/bin\/node \/shared\/mlcube\/dist\/mlcube\.cjs/g, 'echo "$MLCUBE_RUN_LABELS"; echo')
      .replace(/^for p in[\s\S]*?^done$/m, '')
      .replace('module load x', ':');
    for (const k of [0, 1]) {
      const r = await execa('bash', ['-c', fake], { env: { SLURM_ARRAY_TASK_ID: String(k) }, reject: false });
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(r.stdout.split('\n')).to.deep.equal([
        `{"sweep":{"point":${k}}}`,
        `run --mlcube=/shared/cubes/mnist/mlcube.yaml --platform=singularity --task=train,evaluate --workspace=/scratch/me/ws -Ptasks.train.parameters.outputs.model_dir.default=sweeps/s/${k}/model --mount=ro --gpus=0 seed=${k}`,
      ]);
    }
    const none = await execa('bash', ['-c', fake], { env: { SLURM_ARRAY_TASK_ID: '7' }, reject: false });
    expect([none.exitCode, none.stderr]).to.deep.equal([2, 'mlcube: this array has no element 7']);
  });

  it('parses sbatch --parsable and scontrol show job -o; exit codes of finished jobs', () => {
    expect(parseJobId('1234\n')).to.equal('1234');
    expect(parseJobId('1234;cluster\n')).to.equal('1234');
    expect(parseJobId('sbatch: error: ...')).to.equal(undefined);
    const s = parseScontrol('JobId=7 JobName=mlcube-basic-fail UserId=root(0) JobState=FAILED Reason=NonZeroExitCode Dependency=(null) ExitCode=5:0 StdErr=/ws/fail-7.err StdOut=/ws/fail-7.out');
    expect(s).to.deep.equal({ id: '7', state: 'FAILED', reason: 'NonZeroExitCode', exitCode: 5, stdout: '/ws/fail-7.out', stderr: '/ws/fail-7.err' });
    expect(jobExitCode(s!)).to.equal(5);
    expect(jobExitCode(parseScontrol('JobId=8 JobState=CANCELLED Reason=Dependency ExitCode=0:0')!)).to.equal(130);
    expect(jobExitCode(parseScontrol('JobId=9 JobState=FAILED ExitCode=0:9')!)).to.equal(137);
    expect(jobExitCode(parseScontrol('JobId=9 JobState=TIMEOUT ExitCode=0:0')!)).to.equal(124);
    expect(jobExitCode(parseScontrol('JobId=9 JobState=COMPLETED ExitCode=0:0')!)).to.equal(0);
  });

  it('shared-storage checks: relative paths are errors, node-local ones warnings', () => {
    const r = sharedPathProblems({ 'the workspace': 'ws', 'the cube file': '/tmp/c/mlcube.yaml', node: '/shared/node' });
    expect(r.errors).to.deep.equal(['the workspace "ws" is not an absolute path']);
    expect(r.warnings.join()).to.contain('/tmp/c/mlcube.yaml');
  });
});
