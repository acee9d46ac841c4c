import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RUNNERS, findRunner } from '../../runners/index.js';
import { buildConfig } from '../../src/config/build.js';
import { ConfigError } from '../../src/errors.js';
import type { GpuRequest } from '../../src/params/gpus.js';
import type { RunnerFlags } from '../../src/runner.js';
import { FIXTURES } from '../helpers/cli.js';

const CUBE = join(FIXTURES, 'cubes', 'basic');

describe('runner settings: each runner section parsed once into typed settings (RunnerDescription.settings)', () => {
  let home: string;
  before(() => (home = mkdtempSync(join(tmpdir(), 'mlcube-settings-'))));
  after(() => rmSync(home, { recursive: true, force: true }));
  /** The settings `mlcube run --platform=<runner>` would give the runner, with these flags and -P overrides. */
  const settingsOf = (runner: string, flags: RunnerFlags = {}, params: string[] = []) => {
    const built = buildConfig({ mlcube: CUBE, cwd: CUBE, env: {}, home, platform: runner, flags, params, resolve: true }, RUNNERS);
    return built.runner!.settings(built.config);
  };

  describe('the GPU request and --mount, read in one place for every runner (whatever key it keeps --gpus under)', () => {
    const cases: [string, RunnerFlags, string[], GpuRequest, boolean, 'ro' | 'rw' | undefined][] = [
      ['nothing asked', {}, [], { kind: 'none' }, false, undefined],
      ['--gpus=2', { gpus: '2' }, [], { kind: 'count', count: 2 }, false, undefined],
      ['--gpus=1 --mount=ro', { gpus: '1', mount: 'ro' }, [], { kind: 'count', count: 1 }, false, 'ro'],
      ['--gpus=device=0,2 --mount=rw', { gpus: 'device=0,2', mount: 'rw' }, [], { kind: 'devices', devices: ['0', '2'] }, false, 'rw'],
      ['--gpus=0: none, and the GPUs hidden', { gpus: '0' }, [], { kind: 'none' }, true, undefined],
      ['--gpus= (empty): none, and the GPUs hidden', { gpus: '' }, [], { kind: 'none' }, true, undefined],
      ['platform.accelerator_count=3 without --gpus', {}, ['platform.accelerator_count=3'], { kind: 'count', count: 3 }, false, undefined],
      ['--gpus=0 wins over platform.accelerator_count', { gpus: '0' }, ['platform.accelerator_count=3'], { kind: 'none' }, true, undefined],
    ];
    for (const r of RUNNERS) {
      for (const [name, flags, params, gpus, hideGpus, mountMode] of cases) {
        it(`${r.name}: ${name}`, () => {
          const s = settingsOf(r.name, flags, params);
          expect({ gpus: s.gpus, hideGpus: s.hideGpus, mountMode: s.mountMode }).to.deep.equal({ gpus, hideGpus, mountMode });
        });
      }
      it(`${r.name}: a malformed --gpus is a ConfigError naming the value and the fix`, () =>
        expect(() => settingsOf(r.name, { gpus: '0,1' })).to.throw(ConfigError, /--gpus="0,1" is not a GPU specification/));
    }
  });

  it('the runner-specific settings come typed from the effective configuration (defaults and overrides applied)', () => {
    const s = settingsOf('docker', { memory: '2g', network: 'none' }, ['docker.user=image', 'docker.keep_container=true']) as unknown as Record<string, unknown>;
    expect(s).to.deep.include({
      image: 'mlcube-test/basic:0.0.1',
      buildStrategy: 'auto',
      user: 'image',
      keepContainer: true,
      init: true,
      network: 'none',
      memory: { spec: '2g', bytes: 2 * 1024 ** 3 },
      env: ['GREETING=hello basic'],
    });
    expect(settingsOf('local') as unknown as Record<string, unknown>).to.deep.include({ command: ['node', 'task.mjs'], workdir: CUBE, env: { GREETING: 'hello basic' } });
    expect(settingsOf('slurm', { memory: '4G' }, ['slurm.gpus=2']) as unknown as Record<string, unknown>).to.deep.include({
      inner: 'singularity',
      mem: '4G',
      gpusPerJob: 2,
      pollMs: 2000,
      logDir: join(CUBE, 'workspace', '.mlcube', 'slurm'),
    });
    expect(settingsOf('charliecloud') as unknown as Record<string, unknown>).to.deep.include({
      source: { kind: 'docker', ref: 'mlcube-test/basic:0.0.1', text: 'docker:mlcube-test/basic:0.0.1' },
      format: 'dir',
      chRun: ['ch-run'],
    });
    expect(settingsOf('singularity', { network: 'none' }) as unknown as Record<string, unknown>).to.deep.include({
      image: 'mlcubetestbasic001.sif',
      buildFile: 'docker://mlcube-test/basic:0.0.1',
      buildArgs: ['--fakeroot'],
      network: 'none',
      executable: 'singularity',
    });
  });

  describe('a value of the wrong shape fails closed: a ConfigError naming the key, the value, what was expected and a fix', () => {
    // The schema checks the tree before interpolation; these are what interpolation (or a caller) could still put there.
    const base = { runtime: { root: CUBE, workspace: join(CUBE, 'workspace') }, platform: {} };
    const cases: [string, Record<string, unknown>, RegExp, RegExp][] = [
      ['docker', { image: 'a:1', init: 'yes' }, /docker\.init is string "yes"; expected true or false/, /-Pdocker\.init=false/],
      ['docker', { image: 'a:1', '--mount_opts': 'xx' }, /docker\.--mount_opts is string "xx"; expected one of "", "ro", "rw"/, /--mount=ro/],
      ['docker', { image: 'a:1', build_strategy: 'sometimes' }, /docker\.build_strategy is string "sometimes"; expected one of "pull", "auto", "always", "never"/, /-Pdocker\.build_strategy=pull/],
      ['docker', { image: 'a:1', env_args: 3 }, /docker\.env_args is number 3; expected a mapping/, /-Pdocker\.env_args=/],
      ['docker', { image: 'a:1', '--memory': 'lots' }, /--memory="lots" is not a size/, /--memory=2g/],
      ['docker', { image: 7 }, /docker\.image is number 7; expected a string/, /-Pdocker\.image=name:tag/],
      ['singularity', { image: 'c.sif', run_args: ['-C'] }, /singularity\.run_args is a list \(\["-C"\]\); expected a string/, /-Psingularity\.run_args=/],
      ['singularity', { image: 'c.sif', '--nv': 2 }, /singularity\.--nv is number 2; expected a string/, /-Psingularity\.--nv=/],
      ['local', { env_args: 'A=1' }, /local\.env_args is string "A=1"; expected a mapping of NAME: value/, /-Plocal\.env_args=/],
      ['local', { command: 'a | b' }, /local\.command "a \| b" contains a shell operator/, /script/],
      ['charliecloud', { source: 'docker:a:1', pass_env: 'TZ' }, /charliecloud\.pass_env is string "TZ"; expected a list of strings/, /-Pcharliecloud\.pass_env=\[A,B\]/],
      ['charliecloud', { source: 'docker:a:1', ch_run: '' }, /charliecloud\.ch_run \(the executable\) is empty/, /-Pcharliecloud\.ch_run=/],
      ['slurm', { inner: 'local', log_dir: '/l', poll_seconds: 'fast' }, /slurm\.poll_seconds is string "fast"; expected a number/, /-Pslurm\.poll_seconds=2/],
      ['slurm', { log_dir: '/l' }, /slurm\.inner is not set; expected a string/, /-Pslurm\.inner=singularity/],
      ['slurm', { inner: 'local', log_dir: '/l', '--gpus': 'all' }, /--gpus=all cannot be turned into a Slurm request/, /-Pslurm\.gpus=2/],
    ];
    for (const [runner, section, message, fix] of cases) {
      it(`${runner}: ${JSON.stringify(section)}`, () => {
        let err: unknown;
        try {
          findRunner(runner)!.settings({ ...base, runner: section });
        } catch (e) {
          err = e;
        }
        expect(err).to.be.instanceOf(ConfigError);
        expect((err as ConfigError).message).to.match(message);
        expect((err as ConfigError).suggestions.join(' ')).to.match(fix);
      });
    }
  });
});
