import { expect } from 'chai';
import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { CLI, FIXTURES, copyFixture, mlcube, snapshot } from '../helpers/cli.js';

const BIN = join(FIXTURES, 'bin');
const NODE_DIR = dirname(process.execPath);

interface Call {
  exe: string;
  argv: string[];
  cwd: string;
  signal?: string;
}

/** The singularity runner driven through the CLI against fake `singularity`/`apptainer`/`sudo` executables that record their argv. */
describe('singularity runner with fake runtimes on PATH (CLI)', () => {
  let cube: { dir: string; cleanup: () => void };
  let log: string;
  const calls = (): Call[] =>
    existsSync(log)
      ? readFileSync(log, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l))
      : [];
  const env = (bins: string[], extra: Record<string, string> = {}) => ({ PATH: [...bins.map((b) => join(BIN, b)), NODE_DIR].join(':'), FAKE_RUNTIME_LOG: log, ...extra });
  const run = (args: string[], bins = ['singularity'], extra: Record<string, string> = {}) => mlcube(['run', `--mlcube=${cube.dir}`, '--platform=singularity', ...args], { env: env(bins, extra) });
  const sif = () => join(cube.dir, 'workspace', '.image', 'mlcubetestbasic001.sif');

  beforeEach(() => {
    cube = copyFixture('basic');
    log = join(cube.dir, 'calls.jsonl');
  });
  afterEach(() => cube.cleanup());

  it('run builds the SIF from the docker image once (docker:// fallback, build_args as configured), then runs with /mlcube_io binds', async () => {
    const r = await run(['--task=copy']);
    expect(r.exitCode, r.stderr).to.equal(0);
    const [version, build, exec] = calls();
    expect(version.argv).to.deep.equal(['--version']);
    expect(build.argv.slice(0, 2)).to.deep.equal(['build', '--fakeroot']);
    expect(build.argv[3]).to.equal('docker://mlcube-test/basic:0.0.1');
    expect(build.cwd).to.equal(cube.dir);
    expect(existsSync(sif())).to.equal(true);
    const ws = join(cube.dir, 'workspace');
    // The run record gives the task a private metrics directory of its own (never the run directory) at /mlcube_metrics.
    const metricsBind = exec.argv[exec.argv.indexOf(sif()) - 1];
    expect(metricsBind).to.match(/^\/.*mlcube-metrics-[^/]+:\/mlcube_metrics:rw$/);
    expect(metricsBind).to.not.contain(ws);
    expect(exec.argv).to.deep.equal([
      // --contain: Singularity would bind the host's $HOME, current directory and /tmp; the input file cfg.yaml is
      // bound by itself, read-only, over its (writable) input directory.
      'run',
      '--contain',
      '--env',
      'MLCUBE_TASK=copy',
      '--env',
      'MLCUBE_GPUS=none',
      '--env',
      'MLCUBE_METRICS_FILE=/mlcube_metrics/metrics.jsonl',
      '--bind',
      `${ws}/input:/mlcube_io0`,
      '--bind',
      `${ws}/out:/mlcube_io1`,
      '--bind',
      `${ws}/reports:/mlcube_io2`,
      '--bind',
      `${ws}/input/cfg.yaml:/mlcube_io0/cfg.yaml:ro`,
      '--bind',
      metricsBind,
      sif(),
      'copy',
      '--in_dir=/mlcube_io0',
      '--cfg=/mlcube_io0/cfg.yaml',
      '--out_dir=/mlcube_io1',
      '--report=/mlcube_io2/report.txt',
    ]);
    rmSync(log);
    const again = await run(['--task=copy', '--no-cache']); // a task that runs again, not one the cache answers
    expect(again.exitCode, again.stderr).to.equal(0);
    expect(calls().map((c) => c.argv[0])).to.deep.equal(['--version', 'run']); // the SIF is reused
  });

  it('a malformed --gpus is exit 2 before the image is built or anything is created; --gpus=2 is recorded as 2 GPUs', async () => {
    const before = snapshot(cube.dir);
    const bad = await run(['--task=copy', '--gpus=0,1']);
    expect(bad.exitCode, bad.stderr).to.equal(2);
    expect(bad.stderr).to.match(/--gpus/);
    expect(calls().map((c) => c.argv[0])).to.not.include('build');
    expect(snapshot(cube.dir)).to.deep.equal(before);
    const two = await run(['--task=copy', '--gpus=2', '--json']);
    expect(two.exitCode, two.stderr).to.equal(0);
    const id = JSON.parse(two.stdout).tasks[0].run_id;
    expect(JSON.parse(readFileSync(join(cube.dir, 'workspace', '.mlcube', 'runs', id, 'record.json'), 'utf8')).gpus).to.equal('2');
    expect(calls().find((c) => c.argv[0] === 'run')!.argv).to.include('--nv');
  });

  it('configure: empty build_args means no --fakeroot; rebuild=true rebuilds an existing SIF; docker-daemon:// and docker-archive: sources', async () => {
    const c1 = await mlcube(
      ['configure', `--mlcube=${cube.dir}`, '--platform=singularity', '-Psingularity.build_args=', '-Psingularity.build_file=docker-daemon://mlcube-test/basic:0.0.1', '-Psingularity.image=b.sif'],
      { env: env(['singularity']) },
    );
    expect(c1.exitCode, c1.stderr).to.equal(0);
    const b1 = calls().find((c) => c.argv[0] === 'build')!;
    expect(b1.argv).to.have.length(3);
    expect(b1.argv[2]).to.equal('docker-daemon://mlcube-test/basic:0.0.1');
    rmSync(log);
    const c2 = await mlcube(
      [
        'configure',
        `--mlcube=${cube.dir}`,
        '--platform=singularity',
        '-Psingularity.build_args=',
        '-Psingularity.build_file=docker-archive:basic.tar',
        '-Psingularity.image=b.sif',
        '-Psingularity.rebuild=true',
      ],
      { env: env(['singularity']) },
    );
    expect(c2.exitCode, c2.stderr).to.equal(0);
    const b2 = calls().find((c) => c.argv[0] === 'build')!;
    expect(b2.argv[2]).to.equal(`docker-archive:${cube.dir}/basic.tar`);
    expect(existsSync(join(cube.dir, 'workspace', '.image', 'b.sif'))).to.equal(true);
  });

  it('builds from a Singularity.recipe in the cube; a failed build keeps no SIF, exits 4 and names --fakeroot', async () => {
    writeFileSync(join(cube.dir, 'Singularity.recipe'), 'Bootstrap: docker\nFrom: node:20\n');
    const bad = await mlcube(['configure', `--mlcube=${cube.dir}`, '--platform=singularity'], { env: env(['singularity'], { FAKE_RUNTIME_BUILD_EXIT: '255' }) });
    expect(bad.exitCode).to.equal(4);
    expect(bad.stderr).to.contain('MLCUBE_IMAGE_FAILED').and.contain('-Psingularity.build_args=');
    const build = calls().find((c) => c.argv[0] === 'build')!;
    expect(build.argv[build.argv.length - 1]).to.equal(join(cube.dir, 'Singularity.recipe'));
    const image = join(cube.dir, 'workspace', '.image', 'Singularityrecipe.sif');
    expect(build.argv[build.argv.length - 2], JSON.stringify(build.argv)).to.contain('.image/.Singularityrecipe.sif.partial-');
    expect(existsSync(image)).to.equal(false);
    const good = await mlcube(['configure', `--mlcube=${cube.dir}`, '--platform=singularity'], { env: env(['singularity']) });
    expect(good.exitCode, good.stderr).to.equal(0);
    expect(existsSync(image)).to.equal(true);
  });

  it('propagates the task exit code; --gpus adds --nv; --mount=ro binds inputs ro; entrypoint tasks use exec', async () => {
    const r = await run(['--task=fail', '--gpus=1', '--mount=ro'], ['singularity'], { FAKE_RUNTIME_EXIT: '7' });
    expect(r.exitCode).to.equal(7);
    expect(r.stderr).to.contain('exit code 7');
    const exec = calls().find((c) => c.argv[0] === 'run')!;
    // The task's only input is a file: bound by itself (its directory is not shown).
    expect(exec.argv)
      .to.include('--nv')
      .and.include(`${join(cube.dir, 'workspace', 'input', 'cfg.yaml')}:/mlcube_io0/cfg.yaml:ro`);
    const c = await run(['--task=custom']);
    expect(c.exitCode, c.stderr).to.equal(0);
    const ex = calls().find((x) => x.argv[0] === 'exec')!;
    expect(ex.argv.slice(-4)).to.deep.equal(['node', 'custom.mjs', '--flag', '--out_dir=/mlcube_io0']);
  });

  it('falls back to apptainer when singularity is absent; doctor reports which and its version', async () => {
    const d = await mlcube(['doctor'], { env: env(['apptainer']) });
    expect(d.stdout).to.match(/ok\s+singularity\s+apptainer 1\.3\.0/);
    const r = await run(['--task=copy'], ['apptainer']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(
      calls()
        .filter((c) => c.argv[0] === 'run')
        .map((c) => c.exe),
    ).to.deep.equal(['apptainer']);
  });

  it('a custom executable (sudo singularity) is split into words, never given to a shell', async () => {
    const r = await run(['--task=copy', '-Psingularity.singularity=sudo singularity'], ['sudo', 'singularity']);
    expect(r.exitCode, r.stderr).to.equal(0);
    const viaSudo = calls()
      .filter((c) => c.exe === 'sudo')
      .map((c) => c.argv.slice(0, 2));
    expect(viaSudo).to.deep.equal([
      ['singularity', '--version'],
      ['singularity', 'build'],
      ['singularity', 'run'],
    ]);
  });

  it('no runtime at all: exit 3 naming what was tried and how to get one', async () => {
    const r = await run(['--task=copy'], []);
    expect(r.exitCode).to.equal(3);
    expect(r.stderr).to.contain('singularity (not on PATH)').and.contain('apptainer (not on PATH)').and.contain('module load apptainer');
  });

  it('Ctrl-C stops the runtime process (SIGTERM) and exits 130', async function () {
    mkdirSync(join(cube.dir, 'workspace', '.image'), { recursive: true });
    writeFileSync(sif(), 'prebuilt');
    const child = execa('node', [CLI, 'run', `--mlcube=${cube.dir}`, '--platform=singularity', '--task=sleep'], {
      env: { MLCUBE_SYSTEM_SETTINGS: '/nonexistent/s.yaml', ...env(['singularity'], { FAKE_RUNTIME_SLEEP: '1' }) },
      reject: false,
    });
    for (let i = 0; i < 100 && !existsSync(`${log}.pid`); i++) await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(`${log}.pid`), 'the fake runtime never started').to.equal(true);
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode).to.equal(130);
    expect(calls().some((c) => c.signal === 'SIGTERM')).to.equal(true);
  });
});
