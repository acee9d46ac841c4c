import { expect } from 'chai';
import { buildArgv, buildSourceOf, clientArgv, clientEnv, parseVersion, runPlan, sifPath } from '../../runners/singularity-spec.js';
import { singularityRunner } from '../../runners/singularity-config.js';
import type { ResolvedTask } from '../../src/params/resolve.js';
import { ConfigError, ParameterError } from '../../src/errors.js';
import { HOST, isolation, param } from '../helpers/tasks.js';

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
/** The singularity runner's settings of an effective configuration with this runner section. */
const cfg = (over: Record<string, unknown> = {}, platform: Record<string, unknown> = {}) => singularityRunner.settings({ platform, runtime: { root: ROOT, workspace: '/ws' }, runner: runner(over) });
const task = (over: Partial<ResolvedTask> = {}): ResolvedTask => ({
  name: 'train',
  params: [
    param({ name: 'data_dir', io: 'input', type: 'directory', hostPath: '/ws/data' }),
    param({ name: 'cfg', io: 'input', type: 'file', hostPath: '/ws/train.yaml', opts: 'ro' }),
    param({ name: 'model_dir', io: 'output', type: 'directory', hostPath: '/ws/model' }),
  ],
  isolation: isolation(),
  ...over,
});
// Added to every run (Singularity binds $HOME, the current directory and /tmp otherwise).
const C = '--contain';
const TASK_ENV = ['--env', 'MLCUBE_TASK=train', '--env', 'MLCUBE_GPUS=none'];
// Directories first, then input files (bound by themselves).
const BINDS = ['--bind', '/ws/data:/mlcube_io0', '--bind', '/ws/model:/mlcube_io2', '--bind', '/ws/train.yaml:/mlcube_io1/train.yaml:ro'];
const PARAMS = ['--data_dir=/mlcube_io0', '--cfg=/mlcube_io1/train.yaml', '--model_dir=/mlcube_io2'];

describe('singularity command lines (pure: build/run/exec argv)', () => {
  describe('build', () => {
    const cases: [string, Record<string, unknown>, string[]][] = [
      ['a definition file (relative to the cube root), with the configured --fakeroot', {}, ['singularity', 'build', '--fakeroot', SIF, `${ROOT}/Singularity.recipe`]],
      ['docker:// from a registry', { build_file: 'docker://mlcommons/mnist:0.0.1' }, ['singularity', 'build', '--fakeroot', SIF, 'docker://mlcommons/mnist:0.0.1']],
      [
        'docker-daemon:// from the local Docker daemon, build_args emptied: no --fakeroot is added',
        { build_file: 'docker-daemon://mlcube/mnist:0.0.1', build_args: '' },
        ['singularity', 'build', SIF, 'docker-daemon://mlcube/mnist:0.0.1'],
      ],
      [
        'docker-archive: a relative `docker save` tar resolves against the cube root',
        { build_file: 'docker-archive:images/mnist.tar', build_args: null },
        ['singularity', 'build', SIF, `docker-archive:${ROOT}/images/mnist.tar`],
      ],
      ['docker-archive: an absolute tar is kept', { build_file: 'docker-archive:/scratch/mnist.tar' }, ['singularity', 'build', '--fakeroot', SIF, 'docker-archive:/scratch/mnist.tar']],
      [
        'an absolute definition file, custom build args (quotes honoured)',
        { build_file: '/defs/m.def', build_args: '--fix-perms --build-arg "V=a b"' },
        ['singularity', 'build', '--fix-perms', '--build-arg', 'V=a b', SIF, '/defs/m.def'],
      ],
      ['other URIs (oras://, library://) are passed verbatim', { build_file: 'oras://ghcr.io/x/y:1', build_args: '' }, ['singularity', 'build', SIF, 'oras://ghcr.io/x/y:1']],
      ['custom executable: sudo singularity', { singularity: 'sudo singularity', build_file: 'docker://a/b:1', build_args: '' }, ['sudo', 'singularity', 'build', SIF, 'docker://a/b:1']],
      [
        'custom executable: apptainer by absolute path',
        { singularity: '/opt/apptainer/bin/apptainer', build_file: 'docker://a/b:1', build_args: '' },
        ['/opt/apptainer/bin/apptainer', 'build', SIF, 'docker://a/b:1'],
      ],
    ];
    for (const [name, over, argv] of cases) it(name, () => expect(buildArgv(cfg(over), ROOT, SIF)).to.deep.equal(argv));

    it('classifies the sources', () => {
      expect(buildSourceOf('docker://x', ROOT).kind).to.equal('docker');
      expect(buildSourceOf('docker-daemon:x:1', ROOT).kind).to.equal('docker-daemon');
      expect(buildSourceOf('docker-archive:x.tar', ROOT).kind).to.equal('docker-archive');
      expect(buildSourceOf('Singularity.recipe', ROOT)).to.deep.equal({ kind: 'recipe', source: `${ROOT}/Singularity.recipe` });
    });

    it('the SIF path is image_dir/image; a relative image_dir is relative to the cube root', () => {
      expect(sifPath(cfg(), ROOT)).to.equal(SIF);
      expect(sifPath(cfg({ image_dir: 'sifs' }), ROOT)).to.equal(`${ROOT}/sifs/mnist.sif`);
    });
  });

  describe('run / exec', () => {
    const cases: [string, ResolvedTask, ReturnType<typeof cfg>, string[]][] = [
      ['run: <task> then /mlcube_io params; per-parameter ro bind', task(), cfg(), ['singularity', 'run', C, ...TASK_ENV, ...BINDS, SIF, 'train', ...PARAMS]],
      [
        'exec for a custom entrypoint: its tokens then the params, no task name',
        task({ entrypoint: 'python /app/train.py --verbose' }),
        cfg(),
        ['singularity', 'exec', C, ...TASK_ENV, ...BINDS, SIF, 'python', '/app/train.py', '--verbose', ...PARAMS],
      ],
      [
        '--mount=ro makes every input bind read-only, outputs stay rw',
        task(),
        cfg({ '--mount_opts': 'ro' }),
        ['singularity', 'run', C, ...TASK_ENV, '--bind', '/ws/data:/mlcube_io0:ro', '--bind', '/ws/model:/mlcube_io2', '--bind', '/ws/train.yaml:/mlcube_io1/train.yaml:ro', SIF, 'train', ...PARAMS],
      ],
      [
        'GPU count: --nv and CUDA_VISIBLE_DEVICES=0,1',
        task(),
        cfg({ '--nv': '2' }),
        ['singularity', 'run', '--nv', C, '--env', 'CUDA_VISIBLE_DEVICES=0,1', '--env', 'MLCUBE_TASK=train', '--env', 'MLCUBE_GPUS=2', ...BINDS, SIF, 'train', ...PARAMS],
      ],
      [
        'GPU all from platform.accelerator_count absent, --gpus=all: --nv, CUDA_VISIBLE_DEVICES untouched',
        task(),
        cfg({ '--nv': 'all' }),
        ['singularity', 'run', '--nv', C, '--env', 'MLCUBE_TASK=train', '--env', 'MLCUBE_GPUS=all', ...BINDS, SIF, 'train', ...PARAMS],
      ],
      [
        'platform.accelerator_count=1 asks for one GPU without --gpus',
        task(),
        cfg({}, { accelerator_count: 1 }),
        ['singularity', 'run', '--nv', C, '--env', 'CUDA_VISIBLE_DEVICES=0', '--env', 'MLCUBE_TASK=train', '--env', 'MLCUBE_GPUS=1', ...BINDS, SIF, 'train', ...PARAMS],
      ],
      ['--gpus=0 disables GPUs: no --nv (Python added --nv for any value)', task(), cfg({ '--nv': '0' }), ['singularity', 'run', C, ...TASK_ENV, ...BINDS, SIF, 'train', ...PARAMS]],
      [
        'run_args first, then --network/--security/--vm-*, --containall, --cleanenv, env_args',
        task(),
        cfg({ run_args: '-C --writable-tmpfs', '--network': 'none', '--security': 'uid:0', '--vm-ram': '2G', '--vm-cpu': '2', containall: true, cleanenv: true, env_args: { A: 'x y', N: 3 } }),
        [
          'singularity',
          'run',
          '-C',
          '--writable-tmpfs',
          '--network=none',
          '--security=uid:0',
          '--vm-ram=2G',
          '--vm-cpu=2',
          '--cleanenv',
          '--env',
          'A=x y',
          '--env',
          'N=3',
          ...TASK_ENV,
          ...BINDS,
          SIF,
          'train',
          ...PARAMS,
        ],
      ],
      ['custom executable: sudo apptainer', task(), cfg({ singularity: 'sudo apptainer' }), ['sudo', 'apptainer', 'run', C, ...TASK_ENV, ...BINDS, SIF, 'train', ...PARAMS]],
    ];
    for (const [name, t, c, argv] of cases) it(name, () => expect(runPlan(t, c, SIF, undefined, HOST).argv).to.deep.equal(argv));

    describe('metrics directory (a recorded run)', () => {
      const M = ['--env', 'MLCUBE_METRICS_FILE=/mlcube_metrics/metrics.jsonl'];
      const MB = ['--bind', '/runs/r1/metrics:/mlcube_metrics:rw'];
      const cases: [string, ResolvedTask, ReturnType<typeof cfg>, string | undefined, string[]][] = [
        ['not recorded: no bind, no MLCUBE_METRICS_FILE', task(), cfg(), undefined, ['singularity', 'run', C, ...TASK_ENV, ...BINDS, SIF, 'train', ...PARAMS]],
        [
          'recorded: bound rw at /mlcube_metrics, the env names the file there',
          task(),
          cfg(),
          '/runs/r1/metrics',
          ['singularity', 'run', C, ...TASK_ENV, ...M, ...BINDS, ...MB, SIF, 'train', ...PARAMS],
        ],
        [
          'recorded: env_args cannot point the task at another file',
          task({ entrypoint: 'python x.py' }),
          cfg({ env_args: { MLCUBE_METRICS_FILE: '/host/m.jsonl' } }),
          '/runs/r1/metrics',
          ['singularity', 'exec', C, ...TASK_ENV, ...M, ...BINDS, ...MB, SIF, 'python', 'x.py', ...PARAMS],
        ],
      ];
      for (const [name, t, c, dir, argv] of cases) it(name, () => expect(runPlan(t, c, SIF, dir, HOST).argv).to.deep.equal(argv));

      it('the singularity process never gets a host MLCUBE_METRICS_FILE (Singularity passes its environment into the container)', () => {
        const host = { PATH: '/bin', MLCUBE_METRICS_FILE: '/ws/.mlcube/runs/r/metrics.jsonl' };
        expect(clientEnv(host)).to.deep.equal({ PATH: '/bin' });
        expect(host.MLCUBE_METRICS_FILE, 'the given env is not changed').to.be.a('string');
      });
    });

    it('a ro output is bound ro and warned about', () => {
      const p = runPlan(task({ params: [param({ name: 'out', io: 'output', type: 'directory', hostPath: '/ws/o', opts: 'ro' })] }), cfg(), SIF, undefined, HOST);
      expect(p.argv).to.include('/ws/o:/mlcube_io0:ro');
      expect(p.warnings.join()).to.contain('read-only');
    });

    it('a malformed GPU request is a ConfigError naming the value (when the settings are parsed)', () => {
      expect(() => cfg({ '--nv': '0,1' })).to.throw(ConfigError, /"0,1"/);
    });

    describe('isolation: the workspace records, the home directory', () => {
      const atRoot = task({ params: [param({ name: 'summary', io: 'output', type: 'file', hostPath: '/ws/summary.txt' })] });
      const binds = (argv: string[]) => argv.flatMap((a, i) => (argv[i - 1] === '--bind' ? [a] : []));
      it('an output file at the workspace root binds the workspace with an empty read-only directory over its .mlcube, after it', () => {
        const p = runPlan(atRoot, cfg(), SIF, undefined, HOST);
        expect(binds(p.argv)).to.deep.equal(['/ws:/mlcube_io0', '/scratch/empty:/mlcube_io0/.mlcube:ro']);
        expect(p.scratch).to.deep.equal({ dirs: ['/scratch/empty'], files: [] });
        expect(p.covers).to.deep.equal([{ container: '/mlcube_io0/.mlcube', host: '/ws/.mlcube', parameter: 'summary' }]);
        expect(p.argv).to.not.include('--no-privs');
      });
      const privs: [string, Record<string, unknown>, number, boolean][] = [
        ['as root: --no-privs (root keeps capabilities that could unmount the cover)', {}, 0, true],
        ['with --fakeroot in run_args: --no-privs', { run_args: '--fakeroot' }, 1000, true],
        ['already there: not twice', { run_args: '--no-privs' }, 0, true],
        ['a user without fakeroot: none', {}, 1000, false],
      ];
      for (const [name, over, uid, expected] of privs) {
        it(name, () => {
          const argv = runPlan(atRoot, cfg(over), SIF, undefined, { ...HOST, uid }).argv;
          expect(argv.filter((a) => a === '--no-privs')).to.have.length(expected ? 1 : 0);
        });
      }
      it('no cover, no --no-privs even as root; --contain already asked for (-c, --containall) is not repeated', () => {
        expect(runPlan(task(), cfg(), SIF, undefined, { ...HOST, uid: 0 }).argv).to.not.include('--no-privs');
        for (const run_args of ['-c', '--contain', '--containall']) expect(runPlan(task(), cfg({ run_args }), SIF, undefined, HOST).argv.filter((a) => a === C)).to.have.length(run_args === C ? 1 : 0);
      });
      const refused: [string, string, RegExp][] = [
        ['a bind of the home directory', '--bind /home/u:/h', /singularity\.run_args has --bind \/home\/u, but it is your home directory/],
        ['a bind of an ancestor of it, short option, in a list', '-B /data:/d,/:/host', /-B \/, but it contains your home directory/],
        ['~/.ssh', '--bind=/home/u/.ssh:/k:ro', /it is \/home\/u\/\.ssh \(your SSH keys\)/],
        ['the workspace (its records uncovered)', '--mount type=bind,source=/ws,destination=/w', /--mount \/ws, but it shows the workspace's \.mlcube/],
        ['--home SRC', '--home /home/u/.mlcube:/h', /--home \/home\/u\/\.mlcube, but it is \/home\/u\/\.mlcube/],
      ];
      for (const [name, run_args, re] of refused) {
        it(`refuses run_args binding ${name}`, () => expect(() => runPlan(task(), cfg({ run_args }), SIF, undefined, HOST)).to.throw(ConfigError, re));
      }
      it('an input directory that is the home directory is refused (a ParameterError naming it)', () => {
        const t = task({ params: [param({ name: 'data', io: 'input', type: 'directory', hostPath: '/home/u' })] });
        expect(() => runPlan(t, cfg(), SIF, undefined, HOST)).to.throw(
          ParameterError,
          /task "train", parameter "data": the container would be given directory \/home\/u, but it is your home directory/,
        );
      });
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
