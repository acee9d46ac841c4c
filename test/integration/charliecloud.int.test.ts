import { expect } from 'chai';
import { appendFileSync, chmodSync, chownSync, copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { CLI, REPO, copyFixture, mlcube, readJson, tempDir } from '../helpers/cli.js';
import { CharliecloudRunner } from '../../runners/charliecloud.js';
import { SlurmRunner } from '../../runners/slurm.js';
import { taskContext, testTaskIo } from '../helpers/runner-ctx.js';
import { charliecloudRunner } from '../../runners/charliecloud-config.js';
import { readMetrics } from '../../src/provenance/metrics.js';
import { requireDockerBaseImage } from '../helpers/docker.js';

const TAG = `mlcube-test/basic-ch:${process.pid}`;
/**
 * As root, charliecloud refuses a mount that shows the workspace's .mlcube (ch-run gives root the capabilities to
 * unmount its cover): the consumer's output file, at the workspace root by default, goes one level down then.
 */
const ROOT = process.getuid!() === 0;
const SUMMARY = ROOT ? ['summary=reports/summary.txt'] : [];
const summaryOf = (ws: string) => join(ws, ROOT ? 'reports' : '', 'summary.txt');
const MNIST_TAG = `mlcube-test/mnist-ch:${process.pid}`;
const chownTree = (dir: string, uid: number, gid: number): void => {
  chownSync(dir, uid, gid);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) chownTree(p, uid, gid);
    else if (!lstatSync(p).isSymbolicLink()) chownSync(p, uid, gid);
  }
};
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Real Charliecloud (ch-run/ch-convert 0.31, Debian `charliecloud`) on images converted from a real dockerd. */
describe('charliecloud runner against a real ch-run and dockerd (integration)', function () {
  let cube: { dir: string; cleanup: () => void };
  let images: { dir: string; cleanup: () => void };
  const P = () => [`-Pdocker.image=${TAG}`, `-Pcharliecloud.image_dir=${images.dir}`];
  const run = (args: string[], env: Record<string, string> = {}) => mlcube(['run', `--mlcube=${cube.dir}`, '--platform=charliecloud', ...P(), ...args], { env });

  before(async function () {
    const a = await new CharliecloudRunner().probe();
    if (!a.available) {
      console.warn(`    skip: charliecloud integration tests need ch-run (apt-get install charliecloud): ${a.reason}`);
      return this.skip();
    }
    await requireDockerBaseImage(this, 'charliecloud integration tests convert images from a Docker daemon');
    // The fixture's Docker image, built once (the charliecloud runner converts it, it does not build Dockerfiles).
    const c = copyFixture('basic');
    try {
      const b = await mlcube(['configure', `--mlcube=${c.dir}`, '--platform=docker', `-Pdocker.image=${TAG}`]);
      expect(b.exitCode, b.stderr).to.equal(0);
    } finally {
      c.cleanup();
    }
    images = tempDir('mlcube-ch-images-');
  });

  beforeEach(() => (cube = copyFixture('basic')));
  afterEach(() => cube?.cleanup());
  after(async () => {
    images?.cleanup();
    await execa('docker', ['rmi', '-f', TAG, MNIST_TAG], { reject: false });
  });

  it('configure converts the Docker image into image_dir (atomically, entrypoint recorded), then reuses it; inspect names the Docker image id', async () => {
    const started = Date.now();
    const c = await mlcube(['configure', `--mlcube=${cube.dir}`, '--platform=charliecloud', ...P(), '-Pcharliecloud.rebuild=true']);
    expect(c.exitCode, c.stderr).to.equal(0);
    console.warn(`    (docker -> dir conversion ${((Date.now() - started) / 1000).toFixed(1)} s)`);
    const image = join(images.dir, `mlcube-test-basic-ch-${process.pid}`);
    expect(c.stderr).to.contain(`converted ${image}`);
    expect(statSync(image).isDirectory()).to.equal(true);
    for (const p of ['etc/passwd', 'tmp', 'mlcube_io0', 'mlcube_io31']) expect(existsSync(join(image, p)), p).to.equal(true);
    const meta = readJson(`${image}.mlcube.json`);
    expect(meta).to.include({ source: `docker:${TAG}`, format: 'dir', workdir: '/cube' });
    expect(meta.entrypoint).to.deep.equal(['node', '/cube/task.mjs']);
    // Nothing but the image and its metadata: no partial or old copies are left behind.
    expect(readdirSync(images.dir).sort()).to.deep.equal([`mlcube-test-basic-ch-${process.pid}`, `mlcube-test-basic-ch-${process.pid}.mlcube.json`]);
    const again = await mlcube(['configure', `--mlcube=${cube.dir}`, '--platform=charliecloud', ...P()]);
    expect(again.exitCode, again.stderr).to.equal(0);
    expect(again.stderr).to.contain(`reusing ${image}`);
    const i = await mlcube(['inspect', `--mlcube=${cube.dir}`, '--platform=charliecloud', ...P()]);
    expect(i.exitCode, i.stderr).to.equal(0);
    const id = (await execa('docker', ['image', 'inspect', '--format', '{{.Id}}', TAG])).stdout.trim();
    expect(JSON.parse(i.stdout)).to.include({ hash: id.replace('sha256:', ''), image, format: 'dir' });
  });

  it('runs tasks with ch-run: /mlcube_io binds, the argv contract, the image WORKDIR, outputs on the host', async () => {
    const r = await run(['--task=copy,consume', ...SUMMARY]);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stderr).to.contain('running task "copy" with ch-run');
    const ws = join(cube.dir, 'workspace');
    const report = readJson(join(ws, 'reports', 'report.txt'));
    expect(report.args).to.deep.equal(['--in_dir=/mlcube_io0', '--cfg=/mlcube_io0/cfg.yaml', '--out_dir=/mlcube_io1', '--report=/mlcube_io2/report.txt']);
    expect(report.cwd).to.equal('/cube');
    expect(report.uid).to.equal(process.getuid!());
    expect(readFileSync(join(ws, 'out', 'a.txt'), 'utf8').length).to.be.greaterThan(0);
    expect(readFileSync(summaryOf(ws), 'utf8')).to.equal('a.txt,b.txt,cfg.yaml\n');
  });

  it('the host environment does not leak into the task; env_args, pass_env, PATH, HOME and MLCUBE_* do get there', async () => {
    // A task whose entrypoint (a script in a bound input) dumps its environment; the cube's own charliecloud: section.
    mkdirSync(join(cube.dir, 'workspace', 'tools'));
    writeFileSync(
      join(cube.dir, 'workspace', 'tools', 'env.mjs'),
      "import { writeFileSync } from 'node:fs';\nconst out = process.argv.find((a) => a.startsWith('--out_dir=')).slice(10);\nwriteFileSync(out + '/env.json', JSON.stringify(process.env));\n",
    );
    appendFileSync(
      join(cube.dir, 'mlcube.yaml'),
      '  env:\n    entrypoint: node /mlcube_io0/env.mjs\n    parameters:\n      inputs:\n        tools: tools/\n      outputs:\n        out_dir: env/\ncharliecloud:\n  env_args:\n    GREETING: hello ${name}\n',
    );
    const r = await run(['--task=env', '-Pcharliecloud.pass_env=[MLCUBE_TEST_PASSED]'], { MLCUBE_TEST_LEAK: 'secret', MLCUBE_TEST_PASSED: 'yes', CUDA_VISIBLE_DEVICES: '5' });
    expect(r.exitCode, r.stderr).to.equal(0);
    const env = readJson(join(cube.dir, 'workspace', 'env', 'env.json'));
    expect(env).to.not.have.property('MLCUBE_TEST_LEAK');
    expect(env).to.not.have.property('MLCUBE_SYSTEM_SETTINGS');
    expect(env).to.include({
      GREETING: 'hello basic',
      MLCUBE_TEST_PASSED: 'yes',
      CUDA_VISIBLE_DEVICES: '5',
      MLCUBE_TASK: 'env',
      MLCUBE_GPUS: 'none',
      PATH: '/usr/local/bin:/usr/bin:/bin',
      HOME: '/tmp',
    });
  });

  it('propagates the exit code of a failing task and runs no further task', async () => {
    // copy waits for fail (depends_on): the two are independent in the cube file.
    const r = await run(['--task=fail,copy', '-Ptasks.copy.depends_on=[fail]']);
    expect(r.exitCode).to.equal(7);
    expect(r.stderr).to.contain('failing on purpose with 7');
    expect(r.stderr).to.contain('not run: copy');
  });

  it('a custom task entrypoint gets its tokens then the parameters, in the image WORKDIR', async () => {
    const r = await run(['--task=custom']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(readJson(join(cube.dir, 'workspace', 'custom', 'argv.json'))).to.deep.equal(['--flag', '--out_dir=/mlcube_io0']);
  });

  it("as root, a mount that would show the workspace's .mlcube is refused (exit 2, nothing created): ch-run gives root the capabilities to unmount a cover", async function () {
    if (!ROOT) return this.skip();
    const r = await run(['--task=snoop']);
    expect(r.exitCode).to.equal(2);
    expect(r.stderr).to.contain('task "snoop", parameter "found": the mount of this parameter contains the workspace\'s run records').and.contain('and mlcube runs as root');
    expect(r.stderr).to.contain('fix: Run mlcube as a non-root user');
    expect(readdirSync(join(cube.dir, 'workspace'))).to.deep.equal(['input']);
  });

  it("as a user (nobody, through setpriv, when the tests run as root): the real ch-run binds an empty directory over the workspace's .mlcube, the input file alone, a private /tmp; an earlier signed run still verifies", async () => {
    // The image exists already (converted as root); the user only reads it.
    expect((await mlcube(['configure', `--mlcube=${cube.dir}`, '--platform=charliecloud', ...P()])).exitCode).to.equal(0);
    const home = tempDir('mlcube-ch-home-');
    try {
      const asUser = (args: string[]) => {
        const env = { HOME: home.dir, USER: ROOT ? 'nobody' : (process.env.USER ?? 'user'), MLCUBE_SYSTEM_SETTINGS: '/nonexistent/mlcube.yaml' };
        return ROOT
          ? execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), 'node', CLI, ...args], { reject: false })
          : execa('node', [CLI, ...args], { reject: false, env });
      };
      if (ROOT) {
        chownTree(cube.dir, 65534, 65534);
        chownTree(home.dir, 65534, 65534);
        chmodSync(images.dir, 0o755);
      }
      expect((await asUser(['keys', 'generate'])).exitCode).to.equal(0);
      const P2 = [`--mlcube=${cube.dir}`, '--platform=charliecloud', ...P()];
      const first = await asUser(['run', ...P2, '--task=copy', '--json']);
      expect(first.exitCode, String(first.stderr)).to.equal(0);
      const id = JSON.parse(String(first.stdout)).tasks[0].run_id;
      const ws = join(cube.dir, 'workspace');
      const envelope = readFileSync(join(ws, '.mlcube', 'runs', id, 'provenance.dsse.json'), 'utf8');
      const scratch = () => readdirSync(tmpdir()).filter((n) => n.startsWith('mlcube-scratch-'));
      const before = scratch();
      const r = await asUser(['run', ...P2, '--task=snoop']);
      expect(r.exitCode, String(r.stderr)).to.equal(0);
      expect(String(r.stderr)).to.contain('hidden /mlcube_io1/.mlcube');
      const s = readJson(join(ws, 'snoop.json'));
      expect(s.input_dir, 'the input file is bound by itself: its directory is not shown').to.deep.equal(['cfg.yaml']);
      expect(s.tmp, 'a private /tmp (the host one holds this very workspace)').to.deep.equal([]);
      // The cover is the scratch directory, 0555: nothing can be written there either (rename/remove: a mount point).
      expect(s.records).to.deep.equal({ '/mlcube_io1/.mlcube': { list: [], write: 'EACCES', plant: 'EACCES', rename: 'EBUSY', remove: 'EBUSY' } });
      expect(readdirSync(join(ws, '.mlcube', 'runs')).filter((d) => d === 'FAKE')).to.deep.equal([]);
      expect(readFileSync(join(ws, '.mlcube', 'runs', id, 'provenance.dsse.json'), 'utf8')).to.equal(envelope);
      const v = await asUser(['provenance', 'verify', join(ws, '.mlcube', 'runs', id)]);
      expect(v.exitCode, String(v.stderr)).to.equal(0);
      expect(
        scratch().filter((n) => !before.includes(n)),
        'the scratch directory is removed',
      ).to.deep.equal([]);
    } finally {
      if (ROOT) chownTree(home.dir, 0, 0);
      home.cleanup();
    }
  });

  it('read-only inputs cannot be enforced by ch-run 0.31: the run says so (the write goes through)', async () => {
    const r = await run(['--task=write_input']);
    expect(r.stderr).to.contain('read-only inputs are NOT enforced by Charliecloud');
    expect(r.exitCode, r.stderr).to.equal(0);
  });

  it('Ctrl-C stops the ch-run process and exits 130', async () => {
    const child = execa('node', [CLI, 'run', `--mlcube=${cube.dir}`, '--platform=charliecloud', ...P(), '--task=sleep'], {
      reject: false,
      env: { MLCUBE_SYSTEM_SETTINGS: '/nonexistent/mlcube.yaml' },
    });
    const marker = join(cube.dir, 'workspace', 'sleep', 'marker.txt');
    for (let i = 0; i < 300 && !(existsSync(marker) && readFileSync(marker, 'utf8')); i++) await new Promise((r) => setTimeout(r, 100));
    const pid = Number(readFileSync(marker, 'utf8'));
    expect(pid, 'task started').to.be.greaterThan(0);
    expect(alive(pid)).to.equal(true);
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode, String(r.stderr)).to.equal(130);
    expect(String(r.stderr)).to.contain('was interrupted; the ch-run process');
    for (let i = 0; i < 20 && alive(pid); i++) await new Promise((res) => setTimeout(res, 100));
    expect(alive(pid), `task process ${pid} is gone`).to.equal(false);
    expect(readFileSync(marker, 'utf8')).to.not.equal('finished');
  });

  it("image_format squash: one SquashFS file, run through ch-run's SquashFUSE", async () => {
    const started = Date.now();
    const r = await run(['--task=copy', '-Pcharliecloud.image_format=squash']);
    expect(r.exitCode, r.stderr).to.equal(0);
    console.warn(`    (docker -> squash conversion + run ${((Date.now() - started) / 1000).toFixed(1)} s)`);
    const image = join(images.dir, `mlcube-test-basic-ch-${process.pid}.sqfs`);
    expect(statSync(image).isFile()).to.equal(true);
    expect(readJson(join(cube.dir, 'workspace', 'reports', 'report.txt')).args[0]).to.equal('--in_dir=/mlcube_io0');
  });

  for (const format of ['dir', 'squash']) {
    it(`with a TaskIo (${format} image): output into its streams, a metric row through /mlcube_metrics into metricsDir, usage measured`, async () => {
      const io = testTaskIo();
      try {
        const params = [`docker.image=${TAG}`, `charliecloud.image_dir=${images.dir}`, `charliecloud.image_format=${format}`];
        const { runner, task, ctx } = await taskContext({ cube: cube.dir, runner: charliecloudRunner, task: 'report', params, taskIo: io });
        const r = await runner.run(task, ctx);
        expect(r.exitCode, io.stderr.text()).to.equal(0);
        expect(io.stdout.text()).to.equal('report: stdout line\n');
        expect(io.stderr.text()).to.equal('report: stderr line\n');
        expect(readMetrics(join(io.metricsDir, 'metrics.jsonl')).rows.map((m) => [m.name, m.value])).to.deep.equal([['accuracy', 0.5]]);
        console.warn(`    (usage ${JSON.stringify(r.usage)})`);
        expect(r.usage!.cpu_ms).to.be.greaterThan(100);
        expect(r.usage!.max_rss_bytes).to.be.greaterThan(64 * 1024 * 1024);
      } finally {
        io.cleanup();
      }
    });
  }

  it('refuses runner flags ch-run cannot honour, and a missing Docker image is exit 4 with the fix', async () => {
    const n = await run(['--task=copy', '--network=none']);
    expect(n.exitCode).to.equal(2);
    expect(n.stderr).to.contain('--network is not supported by the charliecloud runner');
    const m = await mlcube(['configure', `--mlcube=${cube.dir}`, '--platform=charliecloud', '-Pdocker.image=mlcube-test/absent:0.0.0', `-Pcharliecloud.image_dir=${images.dir}`]);
    expect(m.exitCode).to.equal(4);
    expect(m.stderr).to.contain('docker image mlcube-test/absent:0.0.0 is not in the local Docker daemon');
    expect(m.stderr).to.contain('fix: Build or load it first: mlcube configure --platform=docker');
  });

  it('ch-run missing from PATH: exit 3 naming what to install', async () => {
    const r = await run(['--task=copy', '-Pcharliecloud.ch_run=/nonexistent/ch-run']);
    expect(r.exitCode).to.equal(3);
    expect(r.stderr).to.contain('/nonexistent/ch-run is not on PATH');
    expect(r.stderr).to.contain('apt-get install charliecloud');
  });

  it('slurm with inner: charliecloud runs each task through ch-run on the compute node (needs the Slurm cluster .ci/run starts)', async function () {
    const a = await new SlurmRunner().probe();
    if (!a.available) {
      console.warn(`    skip: no Slurm cluster for the charliecloud inner runner: ${a.reason}`);
      return this.skip();
    }
    const started = Date.now();
    const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=slurm', '-Pslurm.inner=charliecloud', '-Pslurm.poll_seconds=0.3', ...P(), '--task=copy,consume', ...SUMMARY]);
    expect(r.exitCode, r.stderr).to.equal(0);
    console.warn(`    (slurm + charliecloud two-job chain ${((Date.now() - started) / 1000).toFixed(1)} s)`);
    expect(r.stderr).to.match(/submitted Slurm job \d+/);
    expect(r.stderr).to.contain('running task "consume" with ch-run'); // the inner CLI's log, from the job's .err file
    expect(readJson(join(cube.dir, 'workspace', 'reports', 'report.txt')).args[0]).to.equal('--in_dir=/mlcube_io0');
    expect(readFileSync(summaryOf(join(cube.dir, 'workspace')), 'utf8')).to.equal('a.txt,b.txt,cfg.yaml\n');
  });

  it("the MNIST cube: download -> train through charliecloud (image converted from the cube's Docker image, one tiny epoch)", async function () {
    if (
      !existsSync(join(REPO, 'cubes', 'mnist', 'dist', 'main.js')) ||
      !existsSync(join(REPO, 'cubes', 'mnist', 'node_modules')) ||
      !existsSync(join(REPO, 'cubes', 'mnist', 'workspace', 'mnist-offline.npz'))
    ) {
      console.warn('    skip: the MNIST cube is not built (cubes/mnist/dist/main.js, cubes/mnist/node_modules, cubes/mnist/workspace/mnist-offline.npz); run npm ci');
      return this.skip();
    }
    const ws = tempDir('mlcube-ch-mnist-');
    try {
      for (const f of ['data.yaml', 'mnist-offline.npz']) copyFileSync(join(REPO, 'cubes', 'mnist', 'workspace', f), join(ws.dir, f));
      writeFileSync(join(ws.dir, 'train.yaml'), 'model: mlp\noptimizer: adam\nlearning_rate: 0.001\ntrain_epochs: 1\nbatch_size: 64\nvalidation_split: 0.05\nseed: 42\n');
      const b = await mlcube(['configure', '--mlcube=cubes/mnist', '--platform=docker', `-Pdocker.image=${MNIST_TAG}`, '-Pdocker.build_args.BASE=mlcube/node-base:20']);
      expect(b.exitCode, b.stderr).to.equal(0);
      const started = Date.now();
      const r = await mlcube([
        'run',
        '--mlcube=cubes/mnist',
        '--platform=charliecloud',
        `--workspace=${ws.dir}`,
        '--task=download,train',
        `-Pdocker.image=${MNIST_TAG}`,
        `-Pcharliecloud.image_dir=${images.dir}`,
      ]);
      expect(r.exitCode, r.stderr).to.equal(0);
      console.warn(`    (MNIST conversion + download + train ${((Date.now() - started) / 1000).toFixed(1)} s)`);
      expect(r.stderr).to.contain('--data_config=/mlcube_io0/data.yaml');
      expect(existsSync(join(ws.dir, 'model', 'model.json'))).to.equal(true);
    } finally {
      ws.cleanup();
    }
  });
});
