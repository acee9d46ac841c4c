import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent } from 'node:http';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import Docker from 'dockerode';
import { ImageError, InterruptedError, RuntimeUnavailableError, TaskFailedError, TaskNotStartedError } from '../src/errors.js';
import type { Tree } from '../src/config/tree.js';
import type { Availability, RunContext, Runner, TaskPreview, TaskResult, TaskUsage } from '../src/runner.js';
import { dockerRunner, type DockerSettings } from './docker-config.js';
import type { ResolvedTask } from '../src/params/resolve.js';
import { describeGpus } from '../src/params/gpus.js';
import { stdoutStream } from '../src/task-io.js';
import { cgroupCandidates, CGROUP_FILES, cgroupSample, containerName, containerPlan, LABEL_PREFIX, statsSample, type HostUser, type StatsSample } from './docker-spec.js';
import { buildImage, buildSource, configureAction, engineError, imageExists, needsConfigure, pullImage, type BuildSource } from './docker-image.js';
import { dockerfileBases } from './docker-from.js';

export interface DockerRunnerDeps {
  docker: Docker;
  env: Record<string, string | undefined>;
  host?: HostUser;
}

/** Which endpoint dockerode talks to (DOCKER_HOST honoured, as the docker CLI does). */
export function endpoint(env: Record<string, string | undefined>): string {
  return env.DOCKER_HOST || 'unix:///var/run/docker.sock';
}

/** Runs each task in its own container through the Docker Engine API (dockerode), never the docker CLI. */
export class DockerRunner implements Runner<DockerSettings> {
  readonly name = 'docker';
  readonly capabilities = dockerRunner.capabilities;
  readonly dockerHost: string;
  private readonly docker: Docker;
  private readonly env: Record<string, string | undefined>;
  private readonly host?: HostUser;

  constructor(deps: Partial<DockerRunnerDeps> = {}) {
    this.env = deps.env ?? process.env;
    this.dockerHost = endpoint(this.env);
    this.docker = deps.docker ?? localDocker();
    this.host = deps.host ?? (process.getuid && process.getgid ? { uid: process.getuid(), gid: process.getgid() } : undefined);
  }

  async probe(opts: { quick?: boolean } = {}): Promise<Availability> {
    const where = endpoint(this.env);
    try {
      // /_ping answers in ~1 ms; /version ~8 ms (the daemon asks containerd and runs runc and docker-init for theirs).
      if (opts.quick) {
        // Run's pre-flight, so a stopped daemon is named before any output directory is made. On a local socket a
        // bare connect answers that: no HTTP request, whose first one costs the client ~5-10 ms of warm-up.
        const socketPath = await (this.docker.modem as unknown as { getSocketPath(): Promise<string | undefined> | undefined }).getSocketPath();
        await (socketPath ? connectOnce(socketPath) : this.docker.ping());
        return { available: true, version: 'Docker Engine (version not asked)', detail: `via ${where}` };
      }
      const v = await this.docker.version();
      return { available: true, version: `Docker Engine ${v.Version} (API ${v.ApiVersion})`, detail: `via ${where}` };
    } catch (caught) {
      const e = caught as NodeJS.ErrnoException;
      const code = e.code ?? e.errno;
      if (code === 'EACCES')
        return {
          available: false,
          reason: `permission denied on ${where}`,
          remedy: 'Add your user to the docker group (sudo usermod -aG docker $USER, then log in again), or point DOCKER_HOST at a daemon you may use.',
        };
      if (code === 'ENOENT' || code === 'ECONNREFUSED')
        return {
          available: false,
          reason: `no Docker daemon answers at ${where} (${code})`,
          remedy: "Start the daemon (sudo systemctl start docker, or run dockerd), or set DOCKER_HOST to the daemon's socket.",
        };
      return { available: false, reason: `the Docker daemon at ${where} did not answer: ${e.message}`, remedy: 'Check that dockerd is running and DOCKER_HOST is right.' };
    }
  }

  async configure(ctx: RunContext<DockerSettings>): Promise<void> {
    const { image, buildStrategy } = ctx.settings;
    const source = buildSource(ctx.root, ctx.settings);
    const action = configureAction(buildStrategy, source.exists);
    if (action === 'pull' && source.exists && buildStrategy === 'pull') ctx.log.warn(`the cube has a Dockerfile but build_strategy is pull; to build it: -Pdocker.build_strategy=auto`);
    // auto builds from a Dockerfile when the cube has one, else pulls: say which, so a failed pull is not a surprise.
    if (action === 'pull' && !source.exists && buildStrategy === 'auto') ctx.log.info(`build_strategy is auto and there is no Dockerfile at ${source.dockerfile}: pulling ${image}`);
    if (action === 'pull') await pullImage(this.docker, image, ctx.log, source.exists);
    else if (action === 'build') await this.build(ctx, source);
    else if (!(await imageExists(this.docker, image))) {
      throw new ImageError(`image ${image} is not in the local Docker daemon and build_strategy is never`, {
        suggestions: ['Build or load the image first (docker build / docker load), or use -Pdocker.build_strategy=auto.'],
      });
    }
  }

  /**
   * Builds the image: first the Dockerfile's missing base images that are mlcube's own (`mlcube base-image` tags),
   * so that a cube on them configures offline; a build whose base image is missing and could not be pulled ends
   * with an error naming that image and how to make one here.
   */
  private async build(ctx: RunContext<DockerSettings>, source: BuildSource): Promise<void> {
    const { image, buildArgs } = ctx.settings;
    const bases = dockerfileBases(readFileSync(source.dockerfile, 'utf8'), buildArgs);
    // Loaded here, not with the runner: only builds need it.
    const { makeMissingBases, missingBaseError } = await import('./docker-base-image.js');
    await makeMissingBases(this.docker, bases, source.dockerfile, ctx.log);
    try {
      await buildImage(this.docker, image, source, buildArgs, ctx.log);
    } catch (caught) {
      // The Engine's own first line, without buildImage's "building image X failed: ".
      const said = (caught instanceof ImageError ? caught.detail : String(caught)).split('\n')[0].replace(/^building image \S+ failed: /, '');
      throw (await missingBaseError(this.docker, bases, source.dockerfile, image, said)) ?? caught;
    }
  }

  /**
   * Creates the task's container. The image is configured first under `always`, else only when the Engine says it
   * is missing (Python's rule, needsConfigure), which spares the usual run an image inspection round trip.
   */
  private async createContainer(ctx: RunContext<DockerSettings>, options: Docker.ContainerCreateOptions): Promise<Docker.Container> {
    const { image, buildStrategy: strategy } = ctx.settings;
    if (strategy === 'always') {
      ctx.log.info(`image ${image} will be rebuilt (build_strategy always): configuring`);
      await this.configure(ctx);
      return this.docker.createContainer(options);
    }
    try {
      return await this.docker.createContainer(options);
    } catch (e) {
      if (!isNoSuchImage(e)) throw e;
      if (needsConfigure(strategy, false)) ctx.log.info(`image ${image} is not present: configuring`);
      await this.configure(ctx); // under never: throws the explained ImageError
      return this.docker.createContainer(options);
    }
  }

  /**
   * Before anything is created: every task's container spec (cpu_args, env, mounts and their refusals) must be
   * plannable, and a missing image is pulled or built now (under `always` it is rebuilt per task, as run does).
   */
  preview(task: ResolvedTask, ctx: RunContext<DockerSettings>): TaskPreview {
    const o = containerPlan(task, ctx.settings, this.host, {}, '<metrics dir>').options;
    const argv = ['docker', 'run', ...(o.Entrypoint ? [`--entrypoint=${(o.Entrypoint as string[])[0]}`] : []), String(o.Image), ...(o.Cmd ?? [])];
    return { argv, env: [...new Set((o.Env ?? []).map((e) => e.slice(0, e.indexOf('='))))].sort(), host_env: false, mounts: o.HostConfig?.Binds ?? [] };
  }

  async check(tasks: readonly ResolvedTask[], ctx: RunContext<DockerSettings>): Promise<void> {
    for (const task of tasks) containerPlan(task, ctx.settings, this.host, {});
    const { image } = ctx.settings;
    if (ctx.settings.buildStrategy !== 'always' && !(await imageExists(this.docker, image))) {
      ctx.log.info(`image ${image} is not present: configuring before the run`);
      await this.configure(ctx);
    }
  }

  async run(task: ResolvedTask, ctx: RunContext<DockerSettings>): Promise<TaskResult> {
    const s = ctx.settings;
    const io = ctx.taskIo;
    // The run id and workspace let a later mlcube find the container if this one is killed (src/provenance/reaper.ts).
    const labels = {
      [`${LABEL_PREFIX}.cube`]: ctx.root,
      [`${LABEL_PREFIX}.pid`]: String(process.pid),
      [`${LABEL_PREFIX}.workspace`]: ctx.workspace,
      ...(ctx.runId ? { [RUN_ID_LABEL]: ctx.runId } : {}),
    };
    const plan = containerPlan(task, s, this.host, labels, io?.metricsDir);
    // A cover's target must exist before the start, or the daemon would create it (as root) inside the bind.
    for (const c of plan.covers) mkdirSync(c.host, { recursive: true });
    // A container user other than ours (user: image, -u in cpu_args) must be able to create the metrics file.
    if (io && (!this.host || plan.options.User !== `${this.host.uid}:${this.host.gid}`)) chmodSync(io.metricsDir, 0o777);
    for (const w of plan.warnings) ctx.log.warn(w);
    const name = containerName(String(ctx.config.name ?? 'cube'), task.name);
    const hidden = plan.covers.length ? `, hidden ${plan.covers.map((c) => c.container).join(' ')}` : '';
    ctx.log.info(
      `running task "${task.name}" in container ${name}: ${[...((plan.options.Entrypoint as string[] | undefined) ?? ['<image entrypoint>']), ...(plan.options.Cmd ?? [])].join(' ')} (image ${s.image}, user ${plan.options.User ?? 'from image'}, GPUs ${describeGpus(plan.gpus)}, mounts ${plan.options.HostConfig?.Binds?.join(' ')}${hidden})`,
    );
    const started = Date.now();
    const step = (what: string) => ctx.log.debug(`docker ${what} at +${Date.now() - started} ms (${performance.now().toFixed(0)} ms since mlcube started)`);
    const notStarted = () =>
      new InterruptedError(`interrupted (${String(ctx.signal.reason)}) before the task started: container ${name} was not started${s.keepContainer ? ' (kept: keep_container)' : ', and removed'}`, {
        place: { task: task.name },
      });
    if (ctx.signal.aborted) throw new InterruptedError(`interrupted (${String(ctx.signal.reason)}) before the task started: no container was created`, { place: { task: task.name } });
    step('ready to create');
    const container = await this.createContainer(ctx, { ...plan.options, name });
    step('create');
    let removed = false;
    let cleanup: Promise<void> | undefined;
    const remove = async () => {
      if (removed || s.keepContainer) return;
      removed = true;
      await container.remove({ force: true }).catch(() => undefined);
    };
    // SIGTERM to the container's init (HostConfig.Init), which passes it to the task; SIGKILL after the grace.
    let stopAsked: number | undefined;
    const onAbort = () => {
      stopAsked ??= Date.now();
      void container.stop({ t: STOP_GRACE_S }).catch(() => undefined);
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    let meter: ReturnType<typeof usageMeter> | undefined;
    let stream: NodeJS.ReadWriteStream | undefined;
    try {
      // Aborted while the daemon created it (or before, in a signal's race with the listener): never started.
      if (ctx.signal.aborted) throw notStarted();
      stream = await container.attach({ stream: true, stdout: true, stderr: true });
      const drained = new Promise<void>((res) => stream!.on('end', res));
      const stderr = io?.stderr ?? process.stderr;
      // The last line the container wrote to stderr: the init's own report when it could not exec the task's program.
      let lastStderr = '';
      const stderrTap = new Writable({
        write(chunk: Buffer, _encoding, done) {
          lastStderr = (lastStderr + chunk.toString('utf8')).slice(-1024);
          stderr.write(chunk, done);
        },
      });
      this.docker.modem.demuxStream(stream, io?.stdout ?? stdoutStream(ctx.stdoutTo), stderrTap);
      step('attach');
      if (ctx.signal.aborted) throw notStarted();
      // Wait is registered before start (as the docker CLI does), so a quick exit is never missed or waited on twice.
      const waiting = container.wait({ condition: 'next-exit' });
      waiting.catch(() => undefined); // awaited below; a start that fails leaves it to reject unobserved
      await container.start().catch((caught: unknown) => {
        throw notStartable(caught, task.name, s.image) ?? caught;
      });
      step('start');
      // A stop sent while the start request was on its way found nothing running yet: send it again.
      if (ctx.signal.aborted) void container.stop({ t: STOP_GRACE_S }).catch(() => undefined);
      meter = io ? usageMeter(container) : undefined;
      const result = await waiting;
      step('wait');
      const usage = await meter?.stop();
      // Let the last output through, but never hang on a stream that does not end (timer unref'd: no exit delay).
      await Promise.race([drained, new Promise((r) => setTimeout(r, 2000).unref())]);
      if (ctx.signal.aborted) {
        const took =
          stopAsked === undefined ? '' : ` in ${((Date.now() - stopAsked) / 1000).toFixed(1)} s (${result.StatusCode === 137 ? `SIGTERM, then SIGKILL after ${STOP_GRACE_S} s` : 'SIGTERM'})`;
        throw new InterruptedError(`task "${task.name}" was interrupted; container ${name} was stopped${took}${s.keepContainer ? ' (kept: keep_container)' : ' and removed'}`, {
          place: { task: task.name },
        });
      }
      // 137 = SIGKILL: the only case where the Engine may have killed it for memory.
      const info = result.StatusCode === 137 ? await container.inspect() : undefined;
      if (info?.State?.OOMKilled) {
        throw new TaskFailedError(`container ${name} was killed for running out of memory (limit ${s.memory?.spec ?? 'none set'})`, result.StatusCode || 137, {
          place: { task: task.name },
          suggestions: ["Raise the limit (--memory=8g) or reduce the task's memory use (e.g. a smaller batch size)."],
        });
      }
      // With the init (HostConfig.Init, tini), a program that cannot be executed is tini's exec failure and exit 126/127.
      const initExec = (result.StatusCode === 126 || result.StatusCode === 127) && /\[FATAL tini \(\d+\)\] exec (.*) failed: (.*)$/m.exec(lastStderr.trim());
      if (initExec) throw notStartedError(task.name, s.image, `"${initExec[1]}": ${initExec[2].trim()}`, `the container's init said: ${initExec[0]}`);
      if (s.keepContainer) ctx.log.info(`kept container ${name} (keep_container: true)`);
      // Removed while the caller records the run; on every other way out, removed before returning.
      cleanup = remove().then(() => step('remove'));
      return { exitCode: result.StatusCode, durationMs: Date.now() - started, cleanup, ...(usage ? { usage } : {}) };
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
      void meter?.stop(); // on the ways out that threw (idempotent)
      if (!cleanup) {
        await remove();
        step('remove');
      }
      // The attach stream of a container removed before it started never ends: it would hold mlcube open.
      (stream as unknown as { destroy?: () => void } | undefined)?.destroy?.();
    }
  }

  async inspect(ctx: RunContext<DockerSettings>, force: boolean): Promise<Tree> {
    const { image } = ctx.settings;
    if (!(await imageExists(this.docker, image))) {
      if (!force) {
        throw new ImageError(`image ${image} does not exist locally`, { suggestions: ['Configure it first (mlcube configure --platform=docker), or pass --force to configure now.'] });
      }
      await this.configure(ctx);
    }
    const info = await this.docker.getImage(image).inspect();
    return { hash: info.Id.replace(/^sha256:/, ''), image, digest: info.Id, repo_digests: info.RepoDigests ?? [] };
  }
}

/** Seconds a stopped container gets between SIGTERM and SIGKILL (docker stop -t). */
const STOP_GRACE_S = 5;

/** The label naming the run record of a container's task run. */
export const RUN_ID_LABEL = `${LABEL_PREFIX}.run-id`;

/**
 * Force-removes (SIGKILL) every container, running or not, labelled with a run id on the daemon at `dockerHost`:
 * what a killed mlcube left (src/provenance/reaper.ts). Throws when this process would talk to another daemon.
 * Returns the names removed.
 */
export async function removeRunContainers(runId: string, dockerHost: string, env: Record<string, string | undefined> = process.env): Promise<string[]> {
  const here = endpoint(env);
  if (here !== dockerHost) throw new Error(`its containers are on the Docker daemon at ${dockerHost}, and this command talks to ${here} (run it with DOCKER_HOST=${dockerHost})`);
  const docker = localDocker();
  const found = await docker.listContainers({ all: true, filters: { label: [`${RUN_ID_LABEL}=${runId}`] } });
  for (const c of found) {
    await docker
      .getContainer(c.Id)
      .remove({ force: true })
      .catch((e: { statusCode?: number }) => {
        if (e.statusCode !== 404) throw e; // 404: removed meanwhile (another mlcube)
      });
  }
  return found.map((c) => (c.Names?.[0] ?? c.Id.slice(0, 12)).replace(/^\//, ''));
}

export const DOCKER_USAGE_METHOD = 'docker-engine-stats-sampling';

/** How a container's usage is sampled: where from, how often, one sample. */
interface Sampler {
  method: string;
  intervalMs: number;
  sample(): Promise<StatsSample | undefined> | StatsSample | undefined;
}

/**
 * The container's cgroup files, when this host shows them (a local daemon, same cgroup namespace): a read costs
 * microseconds, so they are sampled every 100 ms. Undefined when none of the daemon's usual layouts is there.
 */
function cgroupSampler(id: string): Sampler | undefined {
  const found = cgroupCandidates(id).find((c) => existsSync(join(c.memory, CGROUP_FILES[c.version].usage)));
  if (!found) return undefined;
  const files = CGROUP_FILES[found.version];
  const read = (p: string) => {
    try {
      return readFileSync(p, 'utf8');
    } catch {
      return undefined; // gone with the container
    }
  };
  return {
    method: `cgroup-v${found.version}-sampling`,
    intervalMs: 100,
    sample: () => cgroupSample(found.version, { usage: read(join(found.memory, files.usage)), stat: read(join(found.memory, files.stat)), cpu: read(join(found.cpu, files.cpu)) }),
  };
}

/** The Engine's GET /containers/{id}/stats (one-shot): any daemon, remote too, but it refreshes about once a second. */
function engineSampler(container: Docker.Container): Sampler {
  return {
    method: DOCKER_USAGE_METHOD,
    intervalMs: 250,
    sample: async () => statsSample((await container.stats({ stream: false, 'one-shot': true })) as unknown as Tree),
  };
}

/**
 * Samples the running container's usage until stop(): CPU is the largest cumulative figure seen, memory the largest
 * usage less inactive file cache (what `docker stats` shows). The cgroup is removed when the container exits,
 * before `wait` answers, so the task's last interval is not seen, and a container that ends before the first
 * sample is measured as nulls (measured here: a 1.5 s task gave 1.03 s of CPU through the Engine, whose figures
 * refresh once a second; the cgroup files, read every 100 ms, see all but the last 100 ms).
 */
function usageMeter(container: Docker.Container): { stop(): Promise<TaskUsage> } {
  const sampler = cgroupSampler(container.id) ?? engineSampler(container);
  // Running maxima, not a list: a day-long task is ~900k samples.
  let seen = 0;
  let cpuNs: number | undefined;
  let memoryBytes: number | undefined;
  let stopped = false;
  let error: string | undefined;
  let wake: (() => void) | undefined;
  // Never awaited by stop(): a sample still in flight then can only see the container gone (its cgroup is removed
  // before `wait` answers).
  void (async () => {
    while (!stopped) {
      try {
        const s = await sampler.sample();
        if (s && !stopped) {
          seen++;
          if (s.cpuNs !== undefined) cpuNs = Math.max(cpuNs ?? 0, s.cpuNs);
          if (s.memoryBytes !== undefined) memoryBytes = Math.max(memoryBytes ?? 0, s.memoryBytes);
        }
      } catch (caught) {
        error = (caught as Error | undefined)?.message ?? String(caught);
        return;
      }
      if (stopped) return;
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, sampler.intervalMs).unref();
      });
    }
  })();
  let result: TaskUsage | undefined;
  return {
    async stop() {
      stopped = true;
      wake?.();
      result ??= seen
        ? { cpu_ms: cpuNs === undefined ? null : Math.round(cpuNs / 1e6), max_rss_bytes: memoryBytes ?? null, method: sampler.method }
        : { cpu_ms: null, max_rss_bytes: null, method: `${sampler.method}: no sample${error ? ` (${error})` : ' (the container ended before the first one)'}` };
      return result;
    },
  };
}

/** Resolves once something accepts a connection on the socket (unix, or a Windows named pipe); rejects with the error. */
function connectOnce(socketPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ path: socketPath });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
}

/** The Engine's answer to creating a container from an image it does not have (404 "No such image"). */
function isNoSuchImage(e: unknown): boolean {
  const err = e as { statusCode?: number; message?: string };
  return err?.statusCode === 404 && /no such image/i.test(err.message ?? '');
}

/**
 * dockerode for the daemon the docker CLI would use (DOCKER_HOST, else /var/run/docker.sock). On a unix socket,
 * requests go through an agent with an empty TLS server name: Node otherwise derives one for every request, and
 * its IP-address check compiles a large regular expression (~8 ms of each run) for a name a socket never uses.
 */
export function localDocker(): Docker {
  const docker = new Docker();
  const modem = docker.modem as unknown as { socketPath?: unknown; agent?: Agent };
  if (modem.socketPath && !modem.agent) modem.agent = new Agent({ servername: '' } as ConstructorParameters<typeof Agent>[0]);
  return docker;
}

export function unavailable(a: Availability & { available: false }): RuntimeUnavailableError {
  return new RuntimeUnavailableError(a.reason, { suggestions: [a.remedy] });
}

/**
 * The Engine's refusal to start a container whose program cannot be executed (an entrypoint or command not in the
 * image, not executable): the task never ran, so it is no task failure. Undefined for any other start error.
 */
export function notStartable(caught: unknown, task: string, image: string): TaskNotStartedError | undefined {
  const { statusCode, message } = engineError(caught);
  const exec = /exec: "([^"]*)": ([^:"]+?)(?:: unknown)?$/m.exec(message) ?? /(exec format error|executable file not found in \$PATH|permission denied)/.exec(message);
  if (statusCode !== 400 || !exec) return undefined;
  return notStartedError(task, image, exec.length > 2 ? `"${exec[1]}": ${exec[2].trim()}` : exec[1], `the Engine said: ${message.trim()}`);
}

/** The task's program (`what`: the program and why) could not be executed in the image; `source`: who said so, verbatim. */
function notStartedError(task: string, image: string, what: string, source: string): TaskNotStartedError {
  return new TaskNotStartedError(`the container of the task could not start: ${what} in the image ${image} (${source})`, {
    place: { task },
    suggestions: [
      "The image must hold the program the task runs (its ENTRYPOINT, else the first word of the command): check docker.image and the ENTRYPOINT of the cube's Dockerfile, then rebuild the image (mlcube configure --platform=docker).",
    ],
  });
}
