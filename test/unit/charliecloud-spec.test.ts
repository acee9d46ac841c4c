import { expect } from 'chai';
import { bindPlan, buildSteps, DEFAULT_PATH, imagePath, metaPath, mountPointsToEnsure, parseChVersion, partialPaths, runPlan, sourceOf, type ImageMeta } from '../../runners/charliecloud-spec.js';
import { charliecloudRunner } from '../../runners/charliecloud-config.js';
import type { ResolvedTask } from '../../src/params/resolve.js';
import { ConfigError, ImageError, ParameterError } from '../../src/errors.js';
import { HOST, isolation, param } from '../helpers/tasks.js';

const ROOT = '/cubes/basic';
const IMG = '/ws/.image/me-cube-1';
const runner = (over: Record<string, unknown> = {}) => ({
  runner: 'charliecloud',
  source: 'docker:me/cube:1',
  image: null,
  image_dir: '/ws/.image',
  image_format: 'dir',
  ch_run: 'ch-run',
  ch_convert: 'ch-convert',
  entrypoint: null,
  workdir: null,
  run_args: '',
  pass_env: [],
  '--gpus': null,
  '--mount_opts': '',
  ...over,
});
/** The charliecloud runner's settings of an effective configuration with this runner section. */
const cfg = (over: Record<string, unknown> = {}, platform: Record<string, unknown> = {}) => charliecloudRunner.settings({ platform, runtime: { root: ROOT, workspace: '/ws' }, runner: runner(over) });
const META: ImageMeta = {
  source: 'docker:me/cube:1',
  format: 'dir',
  entrypoint: ['node', '/cube/task.mjs'],
  workdir: '/cube',
  env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'HOME=/tmp', 'LANG=C.UTF-8'],
};
const task = (over: Partial<ResolvedTask> = {}): ResolvedTask => ({
  name: 'train',
  params: [
    param({ name: 'data_dir', io: 'input', type: 'directory', hostPath: '/ws/data' }),
    param({ name: 'cfg', io: 'input', type: 'file', hostPath: '/ws/train.yaml' }),
    param({ name: 'model_dir', io: 'output', type: 'directory', hostPath: '/ws/model' }),
  ],
  isolation: isolation(),
  ...over,
});
const IMAGE_ENV = ['--set-env=PATH=/usr/local/bin:/usr/bin:/bin', '--set-env=HOME=/tmp', '--set-env=LANG=C.UTF-8'];
const TASK_ENV = ['--set-env=MLCUBE_TASK=train', '--set-env=MLCUBE_GPUS=none'];
// The input file is bound by itself, onto an empty file of a scratch directory bound at /mlcube_io1 (ch-run binds only onto existing paths).
const BINDS = ['-b', '/ws/data:/mlcube_io0', '-b', '/ws/model:/mlcube_io2', '-b', '/scratch/mlcube_io1:/mlcube_io1', '-b', '/ws/train.yaml:/mlcube_io1/train.yaml'];
const PARAMS = ['--data_dir=/mlcube_io0', '--cfg=/mlcube_io1/train.yaml', '--model_dir=/mlcube_io2'];
// --private-tmp: ch-run binds the host's /tmp otherwise.
const HEAD = ['ch-run', '--private-tmp', '--unset-env=*', '--env-no-expand'];

describe('charliecloud command lines (pure: conversion steps, ch-run argv, environment)', () => {
  describe('image location and conversion', () => {
    const paths: [string, Record<string, unknown>, string][] = [
      ['a docker source gives a readable directory name', {}, IMG],
      ['squash adds .sqfs', { image_format: 'squash' }, `${IMG}.sqfs`],
      ['an explicit image name is kept', { image: 'mine' }, '/ws/.image/mine'],
      ['a relative image_dir is relative to the cube root', { image_dir: 'images' }, `${ROOT}/images/me-cube-1`],
      ['a tar source: its file name without the extension', { source: 'tar:imgs/cube.tar.gz' }, '/ws/.image/cube'],
      ['a ch-image source', { source: 'ch-image:me/cube' }, '/ws/.image/me-cube'],
    ];
    for (const [name, over, want] of paths) it(name, () => expect(imagePath(cfg(over), ROOT)).to.equal(want));

    it('the metadata and partial names sit beside the image', () => {
      expect(metaPath(IMG)).to.equal(`${IMG}.mlcube.json`);
      expect(partialPaths(IMG, 42)).to.deep.equal({ dir: '/ws/.image/.me-cube-1.partial-42.d', squash: '/ws/.image/.me-cube-1.partial-42.sqfs' });
    });

    const P = { dir: '/ws/.image/.p.d', squash: '/ws/.image/.p.sqfs' };
    const steps: [string, Record<string, unknown>, ReturnType<typeof buildSteps>['convert']['argv'], string[] | undefined, string[] | undefined][] = [
      ['docker -> dir', {}, ['ch-convert', '-i', 'docker', '-o', 'dir', 'me/cube:1', P.dir], undefined, undefined],
      ['docker -> dir -> squash', { image_format: 'squash' }, ['ch-convert', '-i', 'docker', '-o', 'dir', 'me/cube:1', P.dir], undefined, ['ch-convert', '-i', 'dir', '-o', 'squash', P.dir, P.squash]],
      ['ch-image storage (offline ch-image build)', { source: 'ch-image:me/cube' }, ['ch-convert', '-i', 'ch-image', '-o', 'dir', 'me/cube', P.dir], undefined, undefined],
      ['a tarball relative to the cube root', { source: 'tar:cube.tar.gz' }, ['ch-convert', '-i', 'tar', '-o', 'dir', `${ROOT}/cube.tar.gz`, P.dir], undefined, undefined],
      [
        'nvidia: ch-fromhost beside a custom ch-convert, before packing',
        { nvidia: true, image_format: 'squash', ch_convert: '/opt/ch/bin/ch-convert' },
        ['/opt/ch/bin/ch-convert', '-i', 'docker', '-o', 'dir', 'me/cube:1', P.dir],
        ['/opt/ch/bin/ch-fromhost', '--nvidia', P.dir],
        ['/opt/ch/bin/ch-convert', '-i', 'dir', '-o', 'squash', P.dir, P.squash],
      ],
      ['nvidia with ch-convert from PATH', { nvidia: true }, ['ch-convert', '-i', 'docker', '-o', 'dir', 'me/cube:1', P.dir], ['ch-fromhost', '--nvidia', P.dir], undefined],
    ];
    for (const [name, over, convert, nvidia, squash] of steps) {
      it(`conversion: ${name}`, () => {
        const s = buildSteps(cfg(over), P);
        expect(s.convert.argv).to.deep.equal(convert);
        expect(s.nvidia?.argv).to.deep.equal(nvidia);
        expect(s.squash?.argv).to.deep.equal(squash);
      });
    }

    it('an unusable source is a ConfigError naming the forms (when the settings are parsed)', () => {
      expect(() => sourceOf('oras://x', ROOT)).to.throw(ConfigError, /not docker:IMAGE, ch-image:REF or tar:FILE/);
      expect(() => cfg({ source: 'oras://x' })).to.throw(ConfigError, /not docker:IMAGE, ch-image:REF or tar:FILE/);
      expect(() => cfg({ source: null })).to.throw(ConfigError, /no docker image to convert/);
    });

    it('creates the paths ch-run binds onto, the /mlcube_io mount points and /mlcube_metrics', () => {
      const m = mountPointsToEnsure(3);
      expect(m.dirs).to.include.members(['tmp', 'home', 'mlcube_io0', 'mlcube_io2', 'mlcube_metrics']).and.not.include('mlcube_io3');
      expect(m.files).to.deep.equal(['etc/passwd', 'etc/group', 'etc/hosts', 'etc/resolv.conf']);
    });

    it('parses ch-run --version', () => {
      expect(parseChVersion('0.31\n')).to.equal('0.31');
      expect(parseChVersion('0.38~pre+1a2b\n')).to.equal('0.38~pre+1a2b');
      expect(parseChVersion('ch-run[1]: error: $USER not set')).to.equal(undefined);
    });
  });

  describe('ch-run', () => {
    const cases: [string, ResolvedTask, ReturnType<typeof cfg>, ImageMeta | undefined, Record<string, string>, string[]][] = [
      [
        'image entrypoint + <task> + /mlcube_io params; image ENV; WORKDIR as -c',
        task(),
        cfg(),
        META,
        {},
        [...HEAD, ...IMAGE_ENV, ...TASK_ENV, '-c', '/cube', ...BINDS, IMG, '--', 'node', '/cube/task.mjs', 'train', ...PARAMS],
      ],
      [
        'a task entrypoint replaces the image entrypoint and the task name',
        task({ entrypoint: 'node custom.mjs --flag' }),
        cfg(),
        META,
        {},
        [...HEAD, ...IMAGE_ENV, ...TASK_ENV, '-c', '/cube', ...BINDS, IMG, '--', 'node', 'custom.mjs', '--flag', ...PARAMS],
      ],
      [
        'charliecloud.entrypoint / workdir override the recorded ones; no metadata: default PATH and HOME',
        task(),
        cfg({ entrypoint: 'python3 /app/main.py', workdir: '/app' }),
        undefined,
        {},
        [...HEAD, `--set-env=PATH=${DEFAULT_PATH}`, '--set-env=HOME=/tmp', ...TASK_ENV, '-c', '/app', ...BINDS, IMG, '--', 'python3', '/app/main.py', 'train', ...PARAMS],
      ],
      [
        'host environment does not leak: only pass_env names and CUDA_VISIBLE_DEVICES come through; env_args win',
        task(),
        cfg({ pass_env: ['TZ', 'ABSENT'], env_args: { LANG: 'C', GREETING: 'hi $HOME' } }),
        META,
        { TZ: 'UTC', SECRET: 'x', CUDA_VISIBLE_DEVICES: '3', PATH: '/host/bin' },
        [
          ...HEAD,
          ...IMAGE_ENV.slice(0, 2),
          '--set-env=LANG=C',
          '--set-env=TZ=UTC',
          '--set-env=CUDA_VISIBLE_DEVICES=3',
          '--set-env=GREETING=hi $HOME',
          ...TASK_ENV,
          '-c',
          '/cube',
          ...BINDS,
          IMG,
          '--',
          'node',
          '/cube/task.mjs',
          'train',
          ...PARAMS,
        ],
      ],
      [
        '--gpus=2 pins CUDA_VISIBLE_DEVICES=0,1 over the host value',
        task(),
        cfg({ '--gpus': '2' }),
        META,
        { CUDA_VISIBLE_DEVICES: '3' },
        [
          ...HEAD,
          ...IMAGE_ENV,
          '--set-env=CUDA_VISIBLE_DEVICES=0,1',
          '--set-env=MLCUBE_TASK=train',
          '--set-env=MLCUBE_GPUS=2',
          '-c',
          '/cube',
          ...BINDS,
          IMG,
          '--',
          'node',
          '/cube/task.mjs',
          'train',
          ...PARAMS,
        ],
      ],
      [
        '--gpus=0 hides the GPUs (empty CUDA_VISIBLE_DEVICES)',
        task(),
        cfg({ '--gpus': '0' }),
        META,
        { CUDA_VISIBLE_DEVICES: '3' },
        [...HEAD, ...IMAGE_ENV, '--set-env=CUDA_VISIBLE_DEVICES=', ...TASK_ENV, '-c', '/cube', ...BINDS, IMG, '--', 'node', '/cube/task.mjs', 'train', ...PARAMS],
      ],
      [
        'platform.accelerator_count and device lists',
        task(),
        cfg({ '--gpus': 'device=1,3' }, { accelerator_count: 4 }),
        META,
        {},
        [
          ...HEAD,
          ...IMAGE_ENV,
          '--set-env=CUDA_VISIBLE_DEVICES=1,3',
          '--set-env=MLCUBE_TASK=train',
          '--set-env=MLCUBE_GPUS=device=1,3',
          '-c',
          '/cube',
          ...BINDS,
          IMG,
          '--',
          'node',
          '/cube/task.mjs',
          'train',
          ...PARAMS,
        ],
      ],
      [
        'custom ch-run words and run_args go first',
        task(),
        cfg({ ch_run: '/opt/ch/bin/ch-run', run_args: '--private-tmp -v' }),
        META,
        {},
        ['/opt/ch/bin/ch-run', '--private-tmp', '-v', ...HEAD.slice(2), ...IMAGE_ENV, ...TASK_ENV, '-c', '/cube', ...BINDS, IMG, '--', 'node', '/cube/task.mjs', 'train', ...PARAMS],
      ],
    ];
    for (const [name, t, c, meta, hostEnv, argv] of cases) it(name, () => expect(runPlan(t, c, IMG, meta, hostEnv, undefined, HOST).argv).to.deep.equal(argv));

    describe('metrics directory (a recorded run)', () => {
      const M = '--set-env=MLCUBE_METRICS_FILE=/mlcube_metrics/metrics.jsonl';
      const MB = ['-b', '/runs/r1/metrics:/mlcube_metrics'];
      const TAIL = [IMG, '--', 'node', '/cube/task.mjs', 'train', ...PARAMS];
      const cases: [string, ReturnType<typeof cfg>, Record<string, string>, string | undefined, string[]][] = [
        [
          'not recorded: no bind; a host MLCUBE_METRICS_FILE is not passed even when pass_env names it',
          cfg({ pass_env: ['MLCUBE_METRICS_FILE'] }),
          { MLCUBE_METRICS_FILE: '/ws/m.jsonl' },
          undefined,
          [...HEAD, ...IMAGE_ENV, ...TASK_ENV, '-c', '/cube', ...BINDS, ...TAIL],
        ],
        ['recorded: bound at /mlcube_metrics, the env names the file there', cfg(), {}, '/runs/r1/metrics', [...HEAD, ...IMAGE_ENV, ...TASK_ENV, M, '-c', '/cube', ...BINDS, ...MB, ...TAIL]],
        [
          'recorded: env_args and pass_env cannot point the task at another file',
          cfg({ pass_env: ['MLCUBE_METRICS_FILE'], env_args: { MLCUBE_METRICS_FILE: '/x' } }),
          { MLCUBE_METRICS_FILE: '/ws/m.jsonl' },
          '/runs/r1/metrics',
          [...HEAD, ...IMAGE_ENV, M, ...TASK_ENV, '-c', '/cube', ...BINDS, ...MB, ...TAIL],
        ],
      ];
      for (const [name, c, hostEnv, dir, argv] of cases) it(name, () => expect(runPlan(task(), c, IMG, META, hostEnv, dir, HOST).argv).to.deep.equal(argv));

      it('/mlcube_metrics is a mount point the image must have', () => {
        const p = runPlan(task(), cfg(), IMG, META, {}, '/runs/r1/metrics', HOST);
        expect(p.mountPoints).to.deep.equal(['/mlcube_io0', '/mlcube_io2', '/mlcube_io1', '/mlcube_metrics']);
        expect(p.mounts.at(-1)).to.equal('/runs/r1/metrics:/mlcube_metrics');
      });
    });

    it('lists the mount points the binds need and the working directory', () => {
      const p = runPlan(task(), cfg(), IMG, META, {}, undefined, HOST);
      expect(p.mountPoints).to.deep.equal(['/mlcube_io0', '/mlcube_io2', '/mlcube_io1']);
      expect(p.scratch).to.deep.equal({ dirs: ['/scratch/mlcube_io1'], files: ['/scratch/mlcube_io1/train.yaml'] });
      expect(p.cwd).to.equal('/cube');
      expect(p.warnings).to.deep.equal([]);
      expect(runPlan(task(), cfg(), IMG, { ...META, workdir: '' }, {}, undefined, HOST).cwd).to.equal('/');
    });

    it('read-only requests (opts: ro, --mount=ro) are warned about, never silently dropped; binds stay plain', () => {
      const ro = task({ params: [param({ name: 'cfg', io: 'input', type: 'file', hostPath: '/ws/train.yaml', opts: 'ro' })] });
      const p = runPlan(ro, cfg(), IMG, META, {}, undefined, HOST);
      expect(p.argv).to.include('/ws/train.yaml:/mlcube_io0/train.yaml');
      expect(p.warnings.join('\n')).to.match(/read-only inputs are NOT enforced by Charliecloud.*\/ws\/train.yaml \(\/mlcube_io0\/train.yaml\)/);
      const all = runPlan(task(), cfg({ '--mount_opts': 'ro' }), IMG, META, {}, undefined, HOST);
      expect(all.warnings.join('\n')).to.contain('/ws/data (/mlcube_io0), /ws/train.yaml (/mlcube_io1/train.yaml)');
      expect(runPlan(task(), cfg({ '--mount_opts': 'rw' }), IMG, META, {}, undefined, HOST).warnings).to.deep.equal([]);
      // An input file's own read-only default was not asked for: no warning (the README says ch-run binds are writable).
      expect(runPlan(task(), cfg(), IMG, META, {}, undefined, HOST).warnings).to.deep.equal([]);
    });

    it('GPU requests say how the GPUs reach the task (ch-fromhost --nvidia)', () => {
      expect(runPlan(task(), cfg({ '--gpus': 'all' }), IMG, META, {}, undefined, HOST).notes.join()).to.contain('set charliecloud.nvidia: true');
      expect(runPlan(task(), cfg({ '--gpus': 'all' }), IMG, { ...META, nvidia: true }, {}, undefined, HOST).notes.join()).to.contain('holds the host NVIDIA libraries');
      expect(runPlan(task(), cfg(), IMG, META, {}, undefined, HOST).notes).to.deep.equal([]);
    });

    it('an image without entrypoint is an ImageError that names the fix', () => {
      expect(() => runPlan(task(), cfg(), IMG, { ...META, entrypoint: [] }, {}, undefined, HOST)).to.throw(ImageError, /has no ENTRYPOINT/);
      expect(() => runPlan(task(), cfg(), IMG, undefined, {}, undefined, HOST)).to.throw(ImageError, /no me-cube-1.mlcube.json beside it/);
      try {
        runPlan(task(), cfg(), IMG, undefined, {}, undefined, HOST);
      } catch (e) {
        expect((e as ImageError).suggestions.join()).to.contain('-Pcharliecloud.entrypoint=');
      }
      expect(runPlan(task({ entrypoint: 'run.sh' }), cfg(), IMG, undefined, {}, undefined, HOST).argv.slice(-4)).to.deep.equal(['run.sh', ...PARAMS]);
    });
  });

  describe('isolation: the workspace records, /tmp, the home directory', () => {
    const atRoot = task({ params: [param({ name: 'summary', io: 'output', type: 'file', hostPath: '/ws/summary.txt' })] });
    it('an output file at the workspace root: the workspace is bound, then the empty scratch directory over its .mlcube', () => {
      const p = bindPlan(atRoot, cfg(), HOST);
      expect(p.binds).to.deep.equal([
        { host: '/ws', container: '/mlcube_io0' },
        { host: '/scratch/empty', container: '/mlcube_io0/.mlcube' },
      ]);
      expect(p.scratch).to.deep.equal({ dirs: ['/scratch/empty'], files: [] });
      expect(p.covers).to.deep.equal([{ container: '/mlcube_io0/.mlcube', host: '/ws/.mlcube', parameter: 'summary' }]);
    });
    it('as root it is refused: ch-run gives root every capability in its namespaces (the task could unmount the cover)', () => {
      expect(() => bindPlan(atRoot, cfg(), { ...HOST, uid: 0 })).to.throw(
        ParameterError,
        /task "train", parameter "summary": the mount of this parameter contains the workspace's run records \(\/ws\/\.mlcube\), and mlcube runs as root/,
      );
      expect(bindPlan(task(), cfg(), { ...HOST, uid: 0 }).covers).to.deep.equal([]);
    });
    const refused: [string, string, RegExp][] = [
      ['--home (binds $HOME)', '--home', /charliecloud\.run_args has --home \/home\/u, but it is your home directory/],
      ['-b of the workspace', '-b /ws:/mnt', /-b \/ws, but it shows the workspace's \.mlcube/],
      ['--bind= of ~/.mlcube/keys', '--bind=/home/u/.mlcube/keys', /it is inside \/home\/u\/\.mlcube/],
    ];
    for (const [name, run_args, re] of refused) it(`refuses run_args ${name}`, () => expect(() => bindPlan(task(), cfg({ run_args }), HOST)).to.throw(ConfigError, re));
  });

  describe('description: merge, validate, flags', () => {
    const merged = (cube: Record<string, unknown>) => {
      const c: Record<string, any> = { runtime: { root: ROOT, workspace: '/ws' }, runner: runner({ source: null }), ...cube };
      charliecloudRunner.merge(c, { isFile: () => false, which: () => undefined });
      return c;
    };
    it("falls back to the cube's docker image; a charliecloud section wins", () => {
      expect(merged({ docker: { image: 'me/cube:1' } }).runner.source).to.equal('docker:me/cube:1');
      expect(merged({ docker: { image: 'me/cube:1' }, charliecloud: { source: 'ch-image:x', image_format: 'squash' } }).runner).to.include({ source: 'ch-image:x', image_format: 'squash' });
    });
    it('validate: nothing to convert is a ConfigError', () => {
      expect(() => charliecloudRunner.validate!(merged({}))).to.throw(ConfigError);
      expect(() => charliecloudRunner.validate!(merged({ docker: { image: 'a:1' } }))).to.not.throw();
    });
    it('rejects the flags ch-run cannot honour', () => {
      expect(Object.keys(charliecloudRunner.flagKeys).sort()).to.deep.equal(['gpus', 'mount']);
    });
  });
});
