import { expect } from 'chai';
import { buildArgv, buildSourceOf, clientArgv, clientEnv, parseVersion, runPlan, sifPath } from '../../runners/singularity-spec.js';
import type { ResolvedTask } from '../../src/params/resolve.js';
import { ConfigError } from '../../src/errors.js';

const ROOT = '/cubes/mnist';
const SIF = '/ws/.image/mnist.sif';
const runner = (over: Record<string, unknown> = {}) => ({
  runner: 'singularity',
  image: 'mnist.sif',
  image_dir: '/ws/.image',
  singularity: 'singularity',
  build_args: '--fakeroot',
  run_args: '',
  build_file: 'Singularity.recipe',
  '--network': null,
  '--security': null,
  '--nv': null,
  '--vm-ram': null,
  '--vm-cpu': null,
  '--mount_opts': '',
  ...over,
});
const cfg = (over: Record<string, unknown> = {}, platform: Record<string, unknown> = {}) => ({ platform, runner: runner(over) });
const task = (over: Partial<ResolvedTask> = {}): ResolvedTask => ({
  name: 'train',
  params: [
    { name: 'data_dir', io: 'input', type: 'directory', hostPath: '/ws/data' },
    { name: 'cfg', io: 'input', type: 'file', hostPath: '/ws/train.yaml', opts: 'ro' },
    { name: 'model_dir', io: 'output', type: 'directory', hostPath: '/ws/model' },
  ],
  ...over,
});
const TASK_ENV = ['--env', 'MLCUBE_TASK=train', '--env', 'MLCUBE_GPUS=none'];
const BINDS = ['--bind', '/ws/data:/mlcube_io0', '--bind', '/ws:/mlcube_io1:ro', '--bind', '/ws/model:/mlcube_io2'];
const PARAMS = ['--data_dir=/mlcube_io0', '--cfg=/mlcube_io1/train.yaml', '--model_dir=/mlcube_io2'];

describe('singularity command lines (pure: build/run/exec argv)', () => {
  describe('build', () => {
    const cases: [string, Record<string, unknown>, string[]][] = [
      ['a definition file (relative to the cube root), with the configured --fakeroot', {}, ['singularity', 'build', '--fakeroot', SIF, `${ROOT}/Singularity.recipe`]],
      ['docker:// from a registry', { build_file: 'docker://mlcommons/mnist:0.0.1' }, ['singularity', 'build', '--fakeroot', SIF, 'docker://mlcommons/mnist:0.0.1']],
      ['docker-daemon:// from the local Docker daemon, build_args emptied: no --fakeroot is added', { build_file: 'docker-daemon://mlcube/mnist:0.0.1', build_args: '' }, ['singularity', 'build', SIF, 'docker-daemon://mlcube/mnist:0.0.1']],
      ['docker-archive: a relative `docker save` tar resolves against the cube root', { build_file: 'docker-archive:images/mnist.tar', build_args: null }, ['singularity', 'build', SIF, `docker-archive:${ROOT}/images/mnist.tar`]],
      ['docker-archive: an absolute tar is kept', { build_file: 'docker-archive:/scratch/mnist.tar' }, ['singularity', 'build', '--fakeroot', SIF, 'docker-archive:/scratch/mnist.tar']],
      ['an absolute definition file, custom build args (quotes honoured)', { build_file: '/defs/m.def', build_args: '--fix-perms --build-arg "V=a b"' }, ['singularity', 'build', '--fix-perms', '--build-arg', 'V=a b', SIF, '/defs/m.def']],
      ['other URIs (oras://, library://) are passed verbatim', { build_file: 'oras://ghcr.io/x/y:1', build_args: '' }, ['singularity', 'build', SIF, 'oras://ghcr.io/x/y:1']],
      ['custom executable: sudo singularity', { singularity: 'sudo singularity', build_file: 'docker://a/b:1', build_args: '' }, ['sudo', 'singularity', 'build', SIF, 'docker://a/b:1']],
      ['custom executable: apptainer by absolute path', { singularity: '/opt/apptainer/bin/apptainer', build_file: 'docker://a/b:1', build_args: '' }, ['/opt/apptainer/bin/apptainer', 'build', SIF, 'docker://a/b:1']],
    ];
    for (const [name, over, argv] of cases) it(name, () => expect(buildArgv(runner(over), ROOT, SIF)).to.deep.equal(argv));

    it('classifies the sources', () => {
      expect(buildSourceOf('docker://x', ROOT).kind).to.equal('docker');
      expect(buildSourceOf('docker-daemon:x:1', ROOT).kind).to.equal('docker-daemon');
      expect(buildSourceOf('docker-archive:x.tar', ROOT).kind).to.equal('docker-archive');
      expect(buildSourceOf('Singularity.recipe', ROOT)).to.deep.equal({ kind: 'recipe', source: `${ROOT}/Singularity.recipe` });
    });

    it('the SIF path is image_dir/image; a relative image_dir is relative to the cube root', () => {
      expect(sifPath(runner(), ROOT)).to.equal(SIF);
      expect(sifPath(runner({ image_dir: 'sifs' }), ROOT)).to.equal(`${ROOT}/sifs/mnist.sif`);
    });
  });

  describe('run / exec', () => {
    const cases: [string, ResolvedTask, ReturnType<typeof cfg>, string[]][] = [
      ['run: <task> then /mlcube_io params; per-parameter ro bind', task(), cfg(), ['singularity', 'run', ...TASK_ENV, ...BINDS, SIF, 'train', ...PARAMS]],
      [
        'exec for a custom entrypoint: its tokens then the params, no task name',
        task({ entrypoint: 'python /app/train.py --verbose' }),
        cfg(),
        ['singularity', 'exec', ...TASK_ENV, ...BINDS, SIF, 'python', '/app/train.py', '--verbose', ...PARAMS],
      ],
      [
        '--mount=ro makes every input bind read-only, outputs stay rw',
        task(),
        cfg({ '--mount_opts': 'ro' }),
        ['singularity', 'run', ...TASK_ENV, '--bind', '/ws/data:/mlcube_io0:ro', '--bind', '/ws:/mlcube_io1:ro', '--bind', '/ws/model:/mlcube_io2', SIF, 'train', ...PARAMS],
      ],
      [
        'GPU count: --nv and CUDA_VISIBLE_DEVICES=0,1',
        task(),
        cfg({ '--nv': '2' }),
        ['singularity', 'run', '--nv', '--env', 'CUDA_VISIBLE_DEVICES=0,1', '--env', 'MLCUBE_TASK=train', '--env', 'MLCUBE_GPUS=2', ...BINDS, SIF, 'train', ...PARAMS],
      ],
      [
        'GPU all from platform.accelerator_count absent, --gpus=all: --nv, CUDA_VISIBLE_DEVICES untouched',
        task(),
        cfg({ '--nv': 'all' }),
        ['singularity', 'run', '--nv', '--env', 'MLCUBE_TASK=train', '--env', 'MLCUBE_GPUS=all', ...BINDS, SIF, 'train', ...PARAMS],
      ],
      [
        'platform.accelerator_count=1 asks for one GPU without --gpus',
        task(),
        { platform: { accelerator_count: 1 }, runner: runner() },
        ['singularity', 'run', '--nv', '--env', 'CUDA_VISIBLE_DEVICES=0', '--env', 'MLCUBE_TASK=train', '--env', 'MLCUBE_GPUS=1', ...BINDS, SIF, 'train', ...PARAMS],
      ],
      ['--gpus=0 disables GPUs: no --nv (Python added --nv for any value)', task(), cfg({ '--nv': '0' }), ['singularity', 'run', ...TASK_ENV, ...BINDS, SIF, 'train', ...PARAMS]],
      [
        'run_args first, then --network/--security/--vm-*, --containall, --cleanenv, env_args',
        task(),
        cfg({ run_args: '-C --writable-tmpfs', '--network': 'none', '--security': 'uid:0', '--vm-ram': '2G', '--vm-cpu': '2', containall: true, cleanenv: true, env_args: { A: 'x y', N: 3 } }),
        ['singularity', 'run', '-C', '--writable-tmpfs', '--network=none', '--security=uid:0', '--vm-ram=2G', '--vm-cpu=2', '--cleanenv', '--env', 'A=x y', '--env', 'N=3', ...TASK_ENV, ...BINDS, SIF, 'train', ...PARAMS],
      ],
      ['custom executable: sudo apptainer', task(), cfg({ singularity: 'sudo apptainer' }), ['sudo', 'apptainer', 'run', ...TASK_ENV, ...BINDS, SIF, 'train', ...PARAMS]],
    ];
    for (const [name, t, c, argv] of cases) it(name, () => expect(runPlan(t, c, SIF).argv).to.deep.equal(argv));

    describe('metrics directory (a recorded run)', () => {
      const M = ['--env', 'MLCUBE_METRICS_FILE=/mlcube_metrics/metrics.jsonl'];
      const MB = ['--bind', '/runs/r1/metrics:/mlcube_metrics:rw'];
      const cases: [string, ResolvedTask, ReturnType<typeof cfg>, string | undefined, string[]][] = [
        ['not recorded: no bind, no MLCUBE_METRICS_FILE', task(), cfg(), undefined, ['singularity', 'run', ...TASK_ENV, ...BINDS, SIF, 'train', ...PARAMS]],
        ['recorded: bound rw at /mlcube_metrics, the env names the file there', task(), cfg(), '/runs/r1/metrics', ['singularity', 'run', ...TASK_ENV, ...M, ...BINDS, ...MB, SIF, 'train', ...PARAMS]],
        [
          'recorded: env_args cannot point the task at another file',
          task({ entrypoint: 'python x.py' }),
          cfg({ env_args: { MLCUBE_METRICS_FILE: '/host/m.jsonl' } }),
          '/runs/r1/metrics',
          ['singularity', 'exec', ...TASK_ENV, ...M, ...BINDS, ...MB, SIF, 'python', 'x.py', ...PARAMS],
        ],
      ];
      for (const [name, t, c, dir, argv] of cases) it(name, () => expect(runPlan(t, c, SIF, dir).argv).to.deep.equal(argv));

      it('the singularity process never gets a host MLCUBE_METRICS_FILE (Singularity passes its environment into the container)', () => {
        const host = { PATH: '/bin', MLCUBE_METRICS_FILE: '/ws/.mlcube/runs/r/metrics.jsonl' };
        expect(clientEnv(host)).to.deep.equal({ PATH: '/bin' });
        expect(host.MLCUBE_METRICS_FILE, 'the given env is not changed').to.be.a('string');
      });
    });

    it('a ro output is bound ro and warned about', () => {
      const p = runPlan(task({ params: [{ name: 'out', io: 'output', type: 'directory', hostPath: '/ws/o', opts: 'ro' }] }), cfg(), SIF);
      expect(p.argv).to.include('/ws/o:/mlcube_io0:ro');
      expect(p.warnings.join()).to.contain('read-only');
    });

    it('a malformed GPU request is a ConfigError naming the value', () => {
      expect(() => runPlan(task(), cfg({ '--nv': '0,1' }), SIF)).to.throw(ConfigError, /"0,1"/);
    });
  });

  describe('client', () => {
    const versions: [string, ReturnType<typeof parseVersion>][] = [
      ['apptainer version 1.1.9-1.el9', { flavor: 'apptainer', version: '1.1.9-1.el9' }],
      ['singularity-ce version 3.11.0-rc.2', { flavor: 'singularity', version: '3.11.0-rc.2' }],
      ['singularity version 3.7.4', { flavor: 'singularity', version: '3.7.4' }],
      ['1.0.32', { flavor: 'unknown', version: '1.0.32' }],
      ['bash: singularity: command not found', undefined],
    ];
    for (const [text, v] of versions) it(`parses "${text}"`, () => expect(parseVersion(text)).to.deep.equal(v));

    it('splits the executable into words and rejects an empty one', () => {
      expect(clientArgv('sudo -E singularity')).to.deep.equal(['sudo', '-E', 'singularity']);
      expect(() => clientArgv('  ')).to.throw(ConfigError, /executable/);
    });
  });
});
