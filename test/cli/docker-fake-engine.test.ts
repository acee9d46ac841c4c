import { expect } from 'chai';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { copyFixture, mlcube, tempDir } from '../helpers/cli.js';
import { taskContext, testTaskIo } from '../helpers/runner-ctx.js';
import { dockerRunner } from '../../runners/docker-config.js';
import { DockerRunner } from '../../runners/docker.js';

/**
 * The docker runner end to end through the real CLI and dockerode, against a fake Docker Engine API on a unix
 * socket (DOCKER_HOST): what goes over the wire (create body: argv, mounts, user, GPUs), the multiplexed output,
 * the exit code, the removal, and the image-missing paths. Runs everywhere; the real daemon is the integration suite.
 */
interface Call {
  method: string;
  path: string;
  body: any;
}

class FakeEngine {
  readonly calls: Call[] = [];
  imagePresent = true;
  /** The base image is there without mlcube's base-image label (made by an older mlcube). */
  staleBase = false;
  exitCode = 0;
  output = 'hello from the fake engine\n';
  /** How long the container "runs": wait answers this long after start. */
  runMs = 0;
  /** How long the Engine takes to create a container, and to answer an attach. */
  createMs = 0;
  attachMs = 0;
  /** The client closed its attach connection (a stream left open holds mlcube's process open). */
  attachClosed = false;
  /** GET /containers/{id}/stats answer (one-shot); undefined: the route fails. */
  stats?: unknown;
  /** Called when the container is started (what the host looks like at that moment). */
  onStart?: () => void;
  private server?: Server;
  private started?: () => void;
  private startedPromise = new Promise<void>((r) => (this.started = r));

  constructor(readonly socketPath: string) {}

  async listen(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(this.socketPath, r));
  }

  close(): Promise<void> {
    this.server?.closeAllConnections(); // an attach a test left open must not hold the suite
    return new Promise((r) => this.server?.close(() => r()) ?? r());
  }

  paths(): string[] {
    return this.calls.map((c) => `${c.method} ${c.path.replace(/^\/v[\d.]+/, '').split('?')[0]}`);
  }

  private async body(req: IncomingMessage): Promise<any> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    return req.headers['content-type']?.includes('json') && text ? JSON.parse(text) : text.length;
  }

  private json(res: ServerResponse, status: number, value: unknown): void {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(value));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await this.body(req);
    const path = (req.url ?? '').replace(/^\/v[\d.]+/, '');
    this.calls.push({ method: req.method!, path, body });
    const route = `${req.method} ${path.split('?')[0]}`;
    if (route === 'GET /_ping') return void res.end('OK');
    if (route === 'POST /containers/create') {
      if (!this.imagePresent) return this.json(res, 404, { message: `No such image: ${body.Image}` });
      await new Promise((r) => setTimeout(r, this.createMs));
      return this.json(res, 201, { Id: 'c0ffee', Warnings: [] });
    }
    if (route === 'POST /containers/c0ffee/attach') return this.attach(res);
    if (route === 'POST /containers/c0ffee/wait') {
      await this.startedPromise;
      await new Promise((r) => setTimeout(r, this.runMs));
      return this.json(res, 200, { StatusCode: this.exitCode, Error: null });
    }
    if (route === 'POST /containers/c0ffee/start') {
      this.onStart?.();
      res.writeHead(204).end();
      this.started!();
      return;
    }
    if (route === 'DELETE /containers/c0ffee') return void res.writeHead(204).end();
    if (route === 'GET /containers/c0ffee/stats' && this.stats) return this.json(res, 200, this.stats);
    if (route === 'POST /build') {
      this.imagePresent = true;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return void res.end(`${JSON.stringify({ stream: 'Step 1/1 : FROM scratch\n' })}\n${JSON.stringify({ aux: { ID: 'sha256:' + 'b'.repeat(64) } })}\n`);
    }
    if (route === 'POST /images/create') {
      // docker import of a base image made here: from then on it carries mlcube's label.
      this.staleBase = false;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return void res.end(`${JSON.stringify({ status: 'sha256:' + 'c'.repeat(64) })}\n`);
    }
    if (req.method === 'GET' && /^\/images\/.+\/json$/.test(path.split('?')[0])) {
      // Only the cube's own image may be missing: the base image its Dockerfile starts FROM is there, with mlcube's
      // base-image label unless `staleBase` (one an older mlcube made).
      const present = this.imagePresent || !path.startsWith('/images/mlcube-test/basic:');
      const labels = path.startsWith('/images/mlcube/node-base:') && !this.staleBase ? { 'org.mlcommons.mlcube.base-image': `suite=bookworm packages= node=${process.version}` } : null;
      return present ? this.json(res, 200, { Id: 'sha256:' + 'a'.repeat(64), RepoDigests: [], Size: 1000, Config: { Labels: labels } }) : this.json(res, 404, { message: 'No such image' });
    }
    this.json(res, 500, { message: `fake engine: no route for ${route}` });
  }

  /** POST /containers/{id}/attach (not hijacked): the response body carries stdout/stderr frames, [stream, 0, 0, 0, size BE32]. */
  private async attach(res: ServerResponse): Promise<void> {
    res.on('close', () => (this.attachClosed = true));
    await new Promise((r) => setTimeout(r, this.attachMs));
    res.writeHead(200, { 'Content-Type': 'application/vnd.docker.raw-stream' });
    res.flushHeaders();
    await this.startedPromise;
    const frame = (stream: number, text: string) => {
      const payload = Buffer.from(text, 'utf8');
      const header = Buffer.alloc(8);
      header[0] = stream;
      header.writeUInt32BE(payload.length, 4);
      return Buffer.concat([header, payload]);
    };
    res.end(Buffer.concat([frame(1, this.output), frame(2, 'a line on stderr\n')]));
  }
}

describe('docker runner against a fake Engine API (wire format, no daemon needed)', () => {
  let cube: { dir: string; cleanup: () => void };
  let sock: { dir: string; cleanup: () => void };
  let engine: FakeEngine;
  const run = (args: string[]) => mlcube(['run', `--mlcube=${cube.dir}`, '--platform=docker', ...args], { env: { DOCKER_HOST: `unix://${engine.socketPath}`, MLCUBE_RECORD: 'off' } });

  beforeEach(async () => {
    cube = copyFixture('basic');
    sock = tempDir('mlcube-fake-engine-');
    engine = new FakeEngine(join(sock.dir, 'docker.sock'));
    await engine.listen();
  });
  afterEach(async () => {
    await engine.close();
    sock.cleanup();
    cube.cleanup();
  });

  it('creates one container with the task argv, /mlcube_io binds (ro inputs), the invoking user and the GPUs asked for; streams its output; returns its exit code; removes it', async () => {
    engine.exitCode = 3;
    const r = await run(['--task=copy', '--gpus=device=0,2', '--mount=ro']);
    expect(r.exitCode, r.stderr).to.equal(3);
    expect(r.stdout).to.contain('hello from the fake engine');
    expect(r.stderr).to.contain('a line on stderr');
    // No /_ping: run's pre-flight on a unix socket is a bare connect.
    // The pre-flight asks once whether the image is there (a missing one is pulled or built before anything is created).
    expect(engine.paths()).to.deep.equal([
      'GET /images/mlcube-test/basic:0.0.1/json',
      'POST /containers/create',
      'POST /containers/c0ffee/attach',
      'POST /containers/c0ffee/wait',
      'POST /containers/c0ffee/start',
      'DELETE /containers/c0ffee',
    ]);
    const create = engine.calls.find((c) => c.path.startsWith('/containers/create'))!;
    expect(create.path).to.match(/name=mlcube-basic-copy-/);
    const body = create.body;
    expect(body.Image).to.equal('mlcube-test/basic:0.0.1');
    expect(body.Cmd).to.deep.equal(['copy', '--in_dir=/mlcube_io0', '--cfg=/mlcube_io0/cfg.yaml', '--out_dir=/mlcube_io1', '--report=/mlcube_io2/report.txt']);
    const ws = join(cube.dir, 'workspace');
    expect(body.HostConfig.Binds).to.deep.equal([`${join(ws, 'input')}:/mlcube_io0:ro`, `${join(ws, 'out')}:/mlcube_io1`, `${join(ws, 'reports')}:/mlcube_io2`]);
    expect(body.User).to.equal(`${process.getuid!()}:${process.getgid!()}`);
    expect(body.HostConfig.DeviceRequests).to.deep.equal([{ Driver: '', DeviceIDs: ['0', '2'], Capabilities: [['gpu']] }]);
    expect(body.Env).to.include('GREETING=hello basic');
    expect(body.Labels['org.mlcommons.mlcube.cube']).to.equal(cube.dir);
    expect(engine.calls.find((c) => c.method === 'DELETE')!.path).to.contain('force=true');
  });

  describe('with a TaskIo (a recorded run, runner called directly)', () => {
    let io: ReturnType<typeof testTaskIo>;
    beforeEach(() => {
      io = testTaskIo();
      engine.runMs = 150; // usage is sampled while the container runs
    });
    afterEach(() => io.cleanup());
    const runWithIo = async (params: string[] = []) => {
      const env = { ...process.env, DOCKER_HOST: `unix://${engine.socketPath}`, MLCUBE_METRICS_FILE: '/host/runs/x/metrics.jsonl' };
      const { task, ctx } = await taskContext({ cube: cube.dir, runner: dockerRunner, task: 'report', params, env, taskIo: io });
      const runner = new DockerRunner({ docker: new Docker({ socketPath: engine.socketPath }), env, host: { uid: process.getuid!(), gid: process.getgid!() } });
      const r = await runner.run(task, ctx);
      await r.cleanup;
      return r;
    };

    it('binds the metrics directory rw at /mlcube_metrics, names the file there (never the host path), demuxes the output into the TaskIo streams, and measures usage from the Engine stats', async () => {
      engine.stats = { read: '2025-01-01T00:00:00Z', cpu_stats: { cpu_usage: { total_usage: 1_500_000_000 } }, memory_stats: { usage: 80 * 2 ** 20, stats: { inactive_file: 16 * 2 ** 20 } } };
      const r = await runWithIo();
      expect(r.exitCode).to.equal(0);
      const body = engine.calls.find((c) => c.path.startsWith('/containers/create'))!.body;
      expect(body.HostConfig.Binds).to.include(`${io.metricsDir}:/mlcube_metrics:rw`);
      expect(body.Env).to.include('MLCUBE_METRICS_FILE=/mlcube_metrics/metrics.jsonl');
      expect(body.Env.filter((e: string) => e.startsWith('MLCUBE_METRICS_FILE='))).to.have.length(1);
      expect(io.stdout.text()).to.equal('hello from the fake engine\n');
      expect(io.stderr.text()).to.equal('a line on stderr\n');
      expect(engine.paths()).to.include('GET /containers/c0ffee/stats');
      expect(engine.calls.find((c) => c.path.includes('/stats'))!.path).to.contain('one-shot=true');
      expect(r.usage).to.deep.equal({ cpu_ms: 1500, max_rss_bytes: 64 * 2 ** 20, method: 'docker-engine-stats-sampling' });
      expect(statSync(io.metricsDir).mode & 0o777, 'the invoking user runs the container: the directory is left as made').to.equal(0o700);
    });

    it('stats the Engine cannot give: usage nulls saying why; the run is not failed for it', async () => {
      const r = await runWithIo();
      expect(r.exitCode).to.equal(0);
      expect(r.usage).to.include({ cpu_ms: null, max_rss_bytes: null });
      expect(r.usage!.method).to.match(/^docker-engine-stats-sampling: no sample \(.*no route/);
    });

    it('a container user other than the invoking one (user: image) may write the metrics directory', async () => {
      engine.stats = { read: '0001-01-01T00:00:00Z', memory_stats: {} };
      const r = await runWithIo(['docker.user=image']);
      expect(engine.calls.find((c) => c.path.startsWith('/containers/create'))!.body.User).to.equal(undefined);
      expect(statSync(io.metricsDir).mode & 0o777).to.equal(0o777);
      expect(r.usage!.method).to.equal('docker-engine-stats-sampling: no sample (the container ended before the first one)');
    });
  });

  it('the run record is written, its inputs hashed, before the runner creates the container', async () => {
    let atStart: { status?: string; digest?: unknown } = {};
    engine.onStart = () => {
      const runs = join(cube.dir, 'workspace', '.mlcube', 'runs');
      const [id] = existsSync(runs) ? readdirSync(runs) : [];
      const record = id && existsSync(join(runs, id, 'record.json')) ? JSON.parse(readFileSync(join(runs, id, 'record.json'), 'utf8')) : {};
      atStart = { status: record.status, digest: record.parameters?.find((p: { name: string }) => p.name === 'in_dir')?.digest };
    };
    const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=docker', '--task=copy', '--log-level=debug'], { env: { DOCKER_HOST: `unix://${engine.socketPath}` } });
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(atStart.status, 'a "running" record exists when the container starts').to.equal('running');
    expect(atStart.digest, 'with the inputs hashed').to.have.property('sha256');
    const [begun, ready] = ['run record begun', 'docker ready to create'].map((m) => r.stderr.indexOf(`mlcube debug: ${m}`));
    expect(begun, r.stderr).to.be.greaterThan(-1);
    expect(ready, 'the runner is called once the record is begun').to.be.greaterThan(begun);
  });

  it('a socket nobody listens on is exit 3 naming it, before any output directory is made', async () => {
    const stale = join(sock.dir, 'stale.sock');
    writeFileSync(stale, '');
    const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=docker', '--task=copy'], { env: { DOCKER_HOST: `unix://${stale}`, MLCUBE_RECORD: 'off' } });
    expect(r.exitCode, r.stderr).to.equal(3);
    expect(r.stderr).to.contain(`no Docker daemon answers at unix://${stale} (ECONNREFUSED)`);
    expect(r.stderr).to.contain('fix: Start the daemon');
    expect(existsSync(join(cube.dir, 'workspace', 'out'))).to.equal(false);
  });

  it('dockerode is loaded by a docker run only: show_config and a local run of the same cube never load it', async () => {
    // NODE_DEBUG=module logs each file Node's CommonJS loader loads; dockerode is required from node_modules.
    const env = { DOCKER_HOST: `unix://${engine.socketPath}`, MLCUBE_RECORD: 'off', NODE_DEBUG: 'module' };
    const loadsDockerode = /load ".*[\\/]node_modules[\\/]dockerode[\\/]/;
    const docker = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=docker', '--task=copy'], { env });
    expect(docker.exitCode, docker.stderr.slice(-2000)).to.equal(0);
    expect(docker.stderr).to.match(loadsDockerode);
    for (const args of [
      ['show_config', `--mlcube=${cube.dir}`, '--platform=docker'],
      ['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=copy'],
    ]) {
      const r = await mlcube(args, { env });
      expect(r.exitCode, r.stderr.slice(-2000)).to.equal(0);
      expect(r.stderr, args[0]).to.match(/load ".*[\\/]dist[\\/](cli|run)\.cjs"/); // the log is there
      expect(r.stderr, args[0]).to.not.match(loadsDockerode);
    }
  });

  it('an image the Engine lacks is built from the Dockerfile (build_strategy auto) before anything is created, then the container', async () => {
    engine.imagePresent = false;
    const r = await run(['--task=copy']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stderr).to.contain('is not present: configuring before the run');
    const paths = engine.paths();
    expect(paths.filter((p) => p === 'POST /containers/create')).to.have.length(1);
    expect(paths.indexOf('POST /build')).to.be.lessThan(paths.indexOf('POST /containers/create'));
    // The Dockerfile's base image is looked for before the build (it would be made here if it were mlcube's own and missing).
    expect(paths.indexOf('GET /images/mlcube/node-base:20/json')).to.be.within(0, paths.indexOf('POST /build'));
    const build = engine.calls.find((c) => c.path.startsWith('/build'))!;
    expect(decodeURIComponent(build.path)).to.contain('t=mlcube-test/basic:0.0.1');
    expect(build.body, 'a tar build context was sent').to.be.greaterThan(0);
  });

  it("a base image of mlcube's own tag without its label (an older mlcube made it: node only) is made again before the build", async () => {
    engine.imagePresent = false;
    engine.staleBase = true;
    // mmdebstrap stands in: it writes an empty tar where it is told to (the last argument ending in .tar).
    const bin = tempDir('mlcube-fake-mmdebstrap-');
    try {
      writeFileSync(
        join(bin.dir, 'mmdebstrap'),
        `#!${process.execPath}\nconst out = process.argv.slice(2).filter((a) => a.endsWith('.tar')).pop();\nrequire('node:fs').writeFileSync(out, Buffer.alloc(1024));\n`,
        { mode: 0o755 },
      );
      const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=docker', '--task=copy'], {
        env: { DOCKER_HOST: `unix://${engine.socketPath}`, MLCUBE_RECORD: 'off', PATH: `${bin.dir}:${process.env.PATH}` },
      });
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(r.stderr).to.contain('has no org.mlcommons.mlcube.base-image label: an older mlcube made it (node only, no shell); making it again');
      const paths = engine.paths();
      expect(paths.indexOf('POST /images/create'), 'imported before the build').to.be.within(0, paths.indexOf('POST /build'));
      const imported = decodeURIComponent(engine.calls.find((c) => c.path.includes('/images/create'))!.path);
      expect(imported).to.contain('repo=mlcube/node-base').and.contain('tag=20');
    } finally {
      bin.cleanup();
    }
  });

  it('under build_strategy never, a missing image is exit 4 and nothing is built or started', async () => {
    engine.imagePresent = false;
    const r = await run(['--task=copy', '-Pdocker.build_strategy=never']);
    expect(r.exitCode, r.stderr).to.equal(4);
    expect(r.stderr).to.contain('build_strategy is never');
    expect(engine.paths()).to.not.include('POST /build');
    expect(engine.paths()).to.not.include('POST /containers/c0ffee/start');
  });
  describe('interrupts (issue #13)', () => {
    let io: ReturnType<typeof testTaskIo>;
    beforeEach(() => (io = testTaskIo()));
    afterEach(() => io.cleanup());
    const direct = async (signal: AbortSignal, runId?: string) => {
      const env = { ...process.env, DOCKER_HOST: `unix://${engine.socketPath}` };
      const { task, ctx } = await taskContext({ cube: cube.dir, runner: dockerRunner, task: 'copy', env, taskIo: io });
      const runner = new DockerRunner({ docker: new Docker({ socketPath: engine.socketPath }), env, host: { uid: process.getuid!(), gid: process.getgid!() } });
      return runner.run(task, { ...ctx, signal, ...(runId ? { runId } : {}) });
    };

    it('the container gets an init (so a stop reaches the task) and labels naming the run and the workspace', async () => {
      const r = await direct(new AbortController().signal, '20260101T000000Z-copy-abcdef');
      await r.cleanup;
      const body = engine.calls[0].body;
      expect(body.HostConfig.Init).to.equal(true);
      expect(body.Labels['org.mlcommons.mlcube.run-id']).to.equal('20260101T000000Z-copy-abcdef');
      expect(body.Labels['org.mlcommons.mlcube.workspace']).to.equal(join(cube.dir, 'workspace'));
      const off = await run(['--task=copy', '-Pdocker.init=false']);
      expect(off.exitCode, off.stderr).to.equal(0);
      expect(engine.calls.filter((c) => c.path.startsWith('/containers/create')).pop()!.body.HostConfig.Init).to.equal(false);
    });

    it('a Ctrl-C while the Engine creates the container: it is never started, it is removed, and the run is interrupted', async () => {
      engine.createMs = 300;
      const abort = new AbortController();
      setTimeout(() => abort.abort('SIGINT'), 100);
      const err = await direct(abort.signal).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err?.name).to.equal('InterruptedError');
      expect(err?.message).to.contain('before the task started').and.to.contain('was not started, and removed');
      expect(engine.paths()).to.deep.equal(['POST /containers/create', 'DELETE /containers/c0ffee']);
    });

    it('a Ctrl-C while attaching: never started, removed, and the attach connection is closed (it never ends by itself: mlcube hung)', async () => {
      engine.attachMs = 250;
      const abort = new AbortController();
      setTimeout(() => abort.abort('SIGINT'), 100);
      const err = await direct(abort.signal).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err?.message).to.contain('was not started, and removed');
      expect(engine.paths()).to.include('DELETE /containers/c0ffee').and.to.not.include('POST /containers/c0ffee/start');
      await new Promise((r) => setTimeout(r, 200));
      expect(engine.attachClosed).to.equal(true);
    });

    it('an abort that came before run() was called: no container is created', async () => {
      const abort = new AbortController();
      abort.abort('SIGINT');
      const err = await direct(abort.signal).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err?.message).to.contain('before the task started: no container was created');
      expect(engine.paths()).to.deep.equal([]);
    });
  });
});
