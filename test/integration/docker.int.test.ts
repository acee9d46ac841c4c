import { expect } from 'chai';
import { chownSync, existsSync, readFileSync, rmSync, statSync, readdirSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import Docker from 'dockerode';
import { CLI, copyFixture, mlcube, readJson, snapshot, tempDir } from '../helpers/cli.js';
import { DockerRunner } from '../../runners/docker.js';
import { taskContext, testTaskIo } from '../helpers/runner-ctx.js';
import { dockerRunner } from '../../runners/docker-config.js';
import { readMetrics } from '../../src/provenance/metrics.js';
import { expectReportRecord } from '../helpers/record-checks.js';
import { requireDockerBaseImage } from '../helpers/docker.js';
import { recordsByTask } from '../helpers/graph.js';

const docker = new Docker();
const TAG = `mlcube-test/basic:${process.pid}`;
const LABEL = 'org.mlcommons.mlcube.cube';

async function containersOf(cubeDir: string) {
  return docker.listContainers({ all: true, filters: { label: [`${LABEL}=${cubeDir}`] } });
}

describe('docker runner against a real dockerd (integration)', function () {
  let cube: { dir: string; cleanup: () => void };
  const run = (args: string[], env: Record<string, string> = {}) => mlcube(['run', `--mlcube=${cube.dir}`, '--platform=docker', `-Pdocker.image=${TAG}`, ...args], { env });

  before(async function () {
    await requireDockerBaseImage(this, 'docker integration tests need a Docker daemon');
  });

  beforeEach(() => (cube = copyFixture('basic')));
  afterEach(() => cube.cleanup());
  after(async () => {
    await docker
      .getImage(TAG)
      .remove({ force: true })
      .catch(() => undefined);
  });

  it('configure builds the image from the Dockerfile (build_strategy auto) and inspect prints its digest as JSON', async () => {
    const c = await mlcube(['configure', `--mlcube=${cube.dir}`, '--platform=docker', `-Pdocker.image=${TAG}`]);
    expect(c.exitCode, c.stderr).to.equal(0);
    expect(c.stderr).to.contain(`building image ${TAG}`);
    const i = await mlcube(['inspect', `--mlcube=${cube.dir}`, '--platform=docker', `-Pdocker.image=${TAG}`]);
    expect(i.exitCode, i.stderr).to.equal(0);
    const info = JSON.parse(i.stdout);
    const real = await docker.getImage(TAG).inspect();
    expect(info.hash).to.equal(real.Id.replace('sha256:', ''));
    expect(info.digest).to.equal(real.Id);
  });

  it('a platform made by `config --create-platform docker` round-trips: build_context stays ".", get prints it, a second platform leaves it, run uses it', async () => {
    const t = tempDir();
    try {
      const settings = join(t.dir, 'settings.yaml');
      const env = { MLCUBE_SYSTEM_SETTINGS: settings };
      for (const name of ['ci1', 'ci2']) expect((await mlcube(['config', '--create-platform', 'docker', name], { env })).exitCode).to.equal(0);
      const text = readFileSync(settings, 'utf8');
      // Read back as the Python MLCube (PyYAML) and mlcube read it: a string, never NaN (the bug wrote `.nan` at the second edit).
      expect(text).to.not.match(/nan/i);
      expect(text.match(/build_context: \.$/gm), text).to.have.length(2);
      const get = await mlcube(['config', '--get', 'platforms.ci1.build_context'], { env });
      expect([get.exitCode, get.stdout.trim()]).to.deep.equal([0, '.']);
      const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=ci1', `-Pdocker.image=${TAG}`, '-Pdocker.build_strategy=auto', '--task=copy'], { env });
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(readJson(join(cube.dir, 'workspace', 'reports', 'report.txt')).greeting).to.equal('hello basic');
    } finally {
      t.cleanup();
    }
  });

  it('runs a task in a container with /mlcube_io mounts, as the invoking user, and removes the container', async () => {
    const r = await run(['--task=copy']);
    expect(r.exitCode, r.stderr).to.equal(0);
    const ws = join(cube.dir, 'workspace');
    const report = readJson(join(ws, 'reports', 'report.txt'));
    expect(report.args).to.deep.equal(['--in_dir=/mlcube_io0', '--cfg=/mlcube_io0/cfg.yaml', '--out_dir=/mlcube_io1', '--report=/mlcube_io2/report.txt']);
    expect(report.greeting).to.equal('hello basic');
    expect([report.uid, report.gid]).to.deep.equal([process.getuid!(), process.getgid!()]);
    expect(statSync(join(ws, 'out', 'a.txt')).uid).to.equal(process.getuid!());
    expect(await containersOf(cube.dir)).to.have.length(0);
  });

  it('outputs are owned by a non-root invoking user (mlcube#192), and user: image gives the image user back', async function () {
    if (process.getuid!() !== 0) {
      console.warn('    skip: needs root to create a throw-away non-root user in the docker group');
      return this.skip();
    }
    await execa('sh', ['-c', 'id mlcubetest >/dev/null 2>&1 || useradd -M -G docker mlcubetest']);
    const uid = Number((await execa('id', ['-u', 'mlcubetest'])).stdout);
    const gid = Number((await execa('id', ['-g', 'mlcubetest'])).stdout);
    const dockerGid = Number((await execa('getent', ['group', 'docker'])).stdout.split(':')[2]);
    const chownTree = (p: string) => {
      chownSync(p, uid, gid);
      if (lstatSync(p).isDirectory()) for (const e of readdirSync(p)) chownTree(join(p, e));
    };
    chownTree(cube.dir);
    const asUser = (args: string[]) =>
      execa('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, `--groups=${dockerGid}`, 'node', CLI, 'run', `--mlcube=${cube.dir}`, '--platform=docker', `-Pdocker.image=${TAG}`, ...args], {
        reject: false,
        env: { MLCUBE_SYSTEM_SETTINGS: '/nonexistent/mlcube.yaml', HOME: '/tmp' },
      });
    const r = await asUser(['--task=copy']);
    expect(r.exitCode, String(r.stderr)).to.equal(0);
    const ws = join(cube.dir, 'workspace');
    expect(readJson(join(ws, 'reports', 'report.txt')).uid).to.equal(uid);
    for (const f of ['out/a.txt', 'out/cfg.yaml', 'reports/report.txt']) expect(statSync(join(ws, f)).uid, f).to.equal(uid);
    const r2 = await asUser(['--task=copy', '-Pdocker.user=image', 'report=reports/image-user.txt']);
    expect(r2.exitCode, String(r2.stderr)).to.equal(0);
    expect(readJson(join(ws, 'reports', 'image-user.txt')).uid).to.equal(0);
  });

  it('mounts read-only inputs read-only: a write attempt fails and leaves nothing', async () => {
    const r = await run(['--task=write_input']);
    expect(r.exitCode).to.not.equal(0);
    expect(r.stderr).to.match(/EROFS|read-only file system/);
    expect(existsSync(join(cube.dir, 'workspace', 'input', 'intruder.txt'))).to.equal(false);
  });

  it('--mount=ro makes every input read-only', async () => {
    const r = await run(['--task=copy', '--mount=ro']);
    expect(r.exitCode, r.stderr).to.equal(0);
    const c = await run(['--task=write_input', '--mount=rw']);
    expect(c.exitCode, 'rw overrides the parameter opts for inputs').to.equal(0);
  });

  it('--timeout: the container is stopped within 2 s of it, exit 124, the record timed_out, no container left', async () => {
    const r = await run(['--task=sleep', '--timeout=2s']);
    expect(r.exitCode, r.stderr).to.equal(124);
    expect(r.stderr).to.contain('MLCUBE_TASK_TIMED_OUT: task "sleep": the task ran past its timeout of 2 s');
    const rec = recordsByTask(join(cube.dir, 'workspace')).sleep;
    expect(rec).to.include({ status: 'timed_out', exit_code: 124 });
    expect(rec.end - rec.start).to.be.within(2000, 4000 + 1000);
    expect(await containersOf(cube.dir)).to.have.length(0);
  });

  it('propagates the exit code of a failing task', async () => {
    // copy waits for fail (depends_on): the two are independent in the cube file.
    const r = await run(['--task=fail,copy', '-Ptasks.copy.depends_on=[fail]']);
    expect(r.exitCode).to.equal(7);
    expect(r.stderr).to.contain('failing on purpose with 7');
    expect(r.stderr).to.contain('not run: copy');
    expect(await containersOf(cube.dir)).to.have.length(0);
  });

  // Recorded: the container's stdout reaches the recorder's tee; not recorded: the attach stream is written to mlcube's own.
  for (const rec of [
    { name: 'recorded', env: {} as Record<string, string> },
    { name: 'not recorded', env: { MLCUBE_RECORD: 'off' } },
  ]) {
    it(`run --json (${rec.name}): stdout is one JSON document also when a task fails; the container's stdout goes to stderr`, async () => {
      const r = await run(['--task=report,fail', '--json', '-Ptasks.fail.depends_on=[report]'], rec.env);
      expect(r.exitCode, r.stderr).to.equal(7);
      const doc = JSON.parse(r.stdout);
      expect(doc.tasks.map((t: any) => [t.task, t.status, t.exit_code])).to.deep.equal([
        ['report', 'succeeded', 0],
        ['fail', 'failed', 7],
      ]);
      expect(doc.error).to.include({ code: 'MLCUBE_TASK_FAILED', exit_code: 7, task: 'fail' });
      expect(r.stderr).to.contain('report: stdout line').and.contain('failing on purpose with 7');
    });
  }

  it('keeps parameters for a custom entrypoint (multi-token)', async () => {
    const r = await run(['--task=custom']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(readJson(join(cube.dir, 'workspace', 'custom', 'argv.json'))).to.deep.equal(['--flag', '--out_dir=/mlcube_io0']);
  });

  it("with a TaskIo: the container's output lands in its streams, a metric row written to $MLCUBE_METRICS_FILE reaches metricsDir, usage is measured", async () => {
    const io = testTaskIo();
    try {
      const { task, ctx } = await taskContext({ cube: cube.dir, runner: dockerRunner, task: 'report', params: [`docker.image=${TAG}`], taskIo: io });
      const r = await new DockerRunner().run(task, ctx);
      await r.cleanup;
      expect(r.exitCode).to.equal(0);
      expect(io.stdout.text()).to.equal('report: stdout line\n');
      expect(io.stderr.text()).to.equal('report: stderr line\n');
      expect(readFileSync(join(cube.dir, 'workspace', 'report', 'marker.txt'), 'utf8')).to.match(/^\/mlcube_metrics\/metrics\.jsonl /);
      expect(readMetrics(join(io.metricsDir, 'metrics.jsonl')).rows.map((m) => [m.name, m.value, m.step])).to.deep.equal([['accuracy', 0.5, 1]]);
      console.log(`      usage: ${JSON.stringify(r.usage)}`);
      // The task spins ~500 ms holding 64 MiB; sampling misses at most its last interval.
      expect(r.usage!.cpu_ms, JSON.stringify(r.usage)).to.be.a('number').and.greaterThan(100);
      expect(r.usage!.max_rss_bytes, JSON.stringify(r.usage))
        .to.be.a('number')
        .and.greaterThan(64 * 1024 * 1024);
      expect(await containersOf(cube.dir)).to.have.length(0);
    } finally {
      io.cleanup();
    }
  });

  it("a signed docker run's record holds the image digest, the task's stdout, the metrics it wrote in the container, host facts and usage; it verifies", async () => {
    const keys = join(cube.dir, 'keys');
    expect((await mlcube(['keys', 'generate', `--dir=${keys}`])).exitCode).to.equal(0);
    const env = { MLCUBE_SIGNING_KEY: join(keys, 'signing.key') };
    const r = await run(['--task=report', '--json'], env);
    expect(r.exitCode, r.stderr).to.equal(0);
    const id = JSON.parse(r.stdout).tasks[0].run_id;
    const runDir = join(cube.dir, 'workspace', '.mlcube', 'runs', id);
    const rec = expectReportRecord(runDir, { usageMethod: /^(cgroup-v[12]-sampling|docker-engine-stats-sampling)$/ });
    const real = await docker.getImage(TAG).inspect();
    expect(rec.image).to.deep.equal({ reference: TAG, digest: real.Id, kind: 'docker' });
    expect(rec.runs_on_host).to.equal(false);
    expect(rec.cube.code).to.equal(null);
    // The container saw the metrics directory, not the run directory, nor the workspace's .mlcube.
    expect(readFileSync(join(cube.dir, 'workspace', 'report', 'marker.txt'), 'utf8')).to.match(/^\/mlcube_metrics\/metrics\.jsonl /);
    const v = await mlcube(['provenance', 'verify', runDir], { env });
    expect(v.exitCode, v.stderr).to.equal(0);
  });

  it("a task whose output file lies at the workspace root finds the workspace's .mlcube empty and read-only; an earlier signed run still verifies", async () => {
    const keyDir = tempDir('mlcube-keys-');
    try {
      const keys = join(keyDir.dir, 'keys');
      expect((await mlcube(['keys', 'generate', `--dir=${keys}`])).exitCode).to.equal(0);
      const env = { MLCUBE_SIGNING_KEY: join(keys, 'signing.key') };
      const ws = join(cube.dir, 'workspace');
      const first = await run(['--task=copy', '--json'], env);
      expect(first.exitCode, first.stderr).to.equal(0);
      const id = JSON.parse(first.stdout).tasks[0].run_id;
      const envelope = readFileSync(join(ws, '.mlcube', 'runs', id, 'provenance.dsse.json'), 'utf8');
      const r = await run(['--task=snoop'], env);
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(r.stderr).to.contain(`mounts ${ws}:/mlcube_io1 ${ws}/input/cfg.yaml:/mlcube_io0/cfg.yaml:ro`).and.contain('hidden /mlcube_io1/.mlcube');
      const s = readJson(join(ws, 'snoop.json'));
      expect(s.input_dir, 'the input file is bound by itself: its directory is not shown').to.deep.equal(['cfg.yaml']);
      expect(s.records).to.deep.equal({ '/mlcube_io1/.mlcube': { list: [], write: 'EROFS', rename: 'EBUSY', remove: 'EBUSY' } });
      expect(readdirSync(join(ws, '.mlcube', 'runs')).filter((d) => d === 'FAKE' || d === 'PWNED')).to.deep.equal([]);
      expect(existsSync(join(ws, '.mlcube', 'PWNED'))).to.equal(false);
      expect(readFileSync(join(ws, '.mlcube', 'runs', id, 'provenance.dsse.json'), 'utf8')).to.equal(envelope);
      const v = await mlcube(['provenance', 'verify', join(ws, '.mlcube', 'runs', id)], { env });
      expect(v.exitCode, v.stderr).to.equal(0);

      // An output above the workspace (named on the command line): each directory down to .mlcube is pinned, so the
      // workspace cannot be renamed away and replaced by a fake one.
      const above = await run(['--task=snoop', `found=${cube.dir}/snoop.json`], env);
      expect(above.exitCode, above.stderr).to.equal(0);
      expect(above.stderr).to.contain(`writes output "found" outside the workspace: ${cube.dir}/snoop.json`);
      expect(readJson(join(cube.dir, 'snoop.json')).records).to.deep.equal({
        '/mlcube_io1/workspace/.mlcube': { list: [], write: 'EROFS', rename: 'EBUSY', remove: 'EBUSY', rename_parent: 'EBUSY' },
      });
      expect((await mlcube(['provenance', 'verify', join(ws, '.mlcube', 'runs', id)], { env })).exitCode).to.equal(0);
      // The same mount when the signing key lies in it: refused before the container exists.
      expect((await mlcube(['keys', 'generate', `--dir=${join(cube.dir, 'keys')}`])).exitCode).to.equal(0);
      const exposed = await run(['--task=snoop', `found=${cube.dir}/snoop.json`], { MLCUBE_SIGNING_KEY: join(cube.dir, 'keys', 'signing.key') });
      expect(exposed.exitCode).to.equal(2);
      expect(exposed.stderr).to.contain(`parameter "found": the container would be given directory ${cube.dir}, but it contains ${cube.dir}/keys/signing.key (the signing key)`);
    } finally {
      keyDir.cleanup();
    }
  });

  it('Ctrl-C stops and removes the container and exits 130', async () => {
    const child = execa('node', [CLI, 'run', `--mlcube=${cube.dir}`, '--platform=docker', `-Pdocker.image=${TAG}`, '--task=sleep'], {
      reject: false,
      env: { MLCUBE_SYSTEM_SETTINGS: '/nonexistent/mlcube.yaml' },
    });
    const marker = join(cube.dir, 'workspace', 'sleep', 'marker.txt');
    for (let i = 0; i < 300 && !existsSync(marker); i++) await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(marker), 'task started').to.equal(true);
    expect(await containersOf(cube.dir)).to.have.length(1);
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode).to.equal(130);
    expect(await containersOf(cube.dir)).to.have.length(0);
    expect(readFileSync(marker, 'utf8')).to.not.equal('finished');
  });

  it('an out-of-memory kill is reported as such, with the limit', async () => {
    const r = await run(['--task=hog', '--memory=96m']);
    expect(r.exitCode).to.equal(137);
    expect(r.stderr).to.contain('was killed for running out of memory (limit 96m)');
    expect(r.stderr).to.contain('fix: Raise the limit');
    expect(await containersOf(cube.dir)).to.have.length(0);
  });

  it('a stopped daemon gives exit 3 naming the socket tried', async () => {
    const r = await run(['--task=copy'], { DOCKER_HOST: 'unix:///tmp/mlcube-no-such-docker.sock' });
    expect(r.exitCode).to.equal(3);
    expect(r.stderr).to.contain('no Docker daemon answers at unix:///tmp/mlcube-no-such-docker.sock');
    expect(r.stderr).to.contain('fix: Start the daemon');
    expect(existsSync(join(cube.dir, 'workspace', 'out'))).to.equal(false);
  });

  it('a missing image under build_strategy pull (no registry) gives exit 4, suggests auto, and changes nothing in the workspace', async () => {
    const before = snapshot(cube.dir);
    const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=docker', '-Pdocker.image=mlcube-test/absent:0.0.0', '-Pdocker.build_strategy=pull', '--task=copy']);
    expect(r.exitCode).to.equal(4);
    expect(snapshot(cube.dir)).to.deep.equal(before); // no output directory, no record
    expect(r.stderr).to.contain('cannot pull image mlcube-test/absent:0.0.0');
    expect(r.stderr).to.contain('-Pdocker.build_strategy=auto');
  });

  it('build_strategy auto without a Dockerfile says it falls back to pulling, and a failed pull is exit 4 changing nothing', async () => {
    rmSync(join(cube.dir, 'Dockerfile'));
    const before = snapshot(cube.dir);
    const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=docker', '-Pdocker.image=mlcube-test/absent:0.0.0', '-Pdocker.build_strategy=auto', '--task=copy']);
    expect(r.exitCode).to.equal(4);
    expect(r.stderr).to.contain(`build_strategy is auto and there is no Dockerfile at ${join(cube.dir, 'Dockerfile')}: pulling mlcube-test/absent:0.0.0`);
    expect(r.stderr).to.contain('cannot pull image mlcube-test/absent:0.0.0');
    expect(snapshot(cube.dir)).to.deep.equal(before);
  });

  it('build_strategy never with a missing image gives exit 4; with the image present it runs', async () => {
    const missing = await mlcube(['configure', `--mlcube=${cube.dir}`, '--platform=docker', '-Pdocker.image=mlcube-test/absent:0.0.0', '-Pdocker.build_strategy=never']);
    expect(missing.exitCode).to.equal(4);
    expect(missing.stderr).to.contain('build_strategy is never');
    const r = await run(['--task=copy', '-Pdocker.build_strategy=never']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stderr).to.not.contain('building image');
  });

  it('build_strategy always rebuilds before every task; auto does not rebuild an existing image', async () => {
    const always = await run(['--task=copy,consume', '-Pdocker.build_strategy=always']);
    expect(always.exitCode, always.stderr).to.equal(0);
    expect(always.stderr.split(`building image ${TAG}`).length - 1).to.equal(2);
    const auto = await run(['--task=copy']);
    expect(auto.stderr).to.not.contain('building image');
  });

  it('a failing Dockerfile step is reported with its output', async () => {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(cube.dir, 'Dockerfile'), 'FROM mlcube/node-base:20\nRUN /bin/does-not-exist\n');
    const r = await mlcube(['configure', `--mlcube=${cube.dir}`, '--platform=docker', '-Pdocker.image=mlcube-test/broken:0.0.0']);
    expect(r.exitCode).to.equal(4);
    expect(r.stderr).to.contain('building image mlcube-test/broken:0.0.0 failed');
    expect(r.stderr).to.match(/RUN \/bin\/does-not-exist/);
  });
});
