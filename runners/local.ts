import { constants, hostname } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { ConfigError, InterruptedError } from '../src/errors.js';
import { METRICS_ENV, METRICS_FILE_NAME, type Availability, type RunContext, type Runner, type TaskIo, type TaskPreview, type TaskResult, type TaskUsage } from '../src/runner.js';
import { hostUsageMeter } from '../src/host-usage.js';
import { pipeInto, stdoutStdio, type StdoutRoute } from '../src/task-io.js';
import type { ResolvedTask } from '../src/params/resolve.js';
import { splitCommand } from '../src/params/split-command.js';
import { checkHostCommand } from './local-check.js';
import { cudaVisibleDevices, describeGpus } from '../src/params/gpus.js';
import { localRunner, type LocalSettings } from './local-config.js';
import { groupMembers, procStartTicks, signalGroup } from '../src/process-group.js';

/** argv of a task on the host: `<command> <task> --p=<host path>...`, or `<entrypoint> --p=...` for custom entrypoints. */
export function localArgv(task: ResolvedTask, s: Pick<LocalSettings, 'command'>): string[] {
  const params = task.params.map((p) => `--${p.name}=${p.hostPath}`);
  if (task.entrypoint) return [...splitCommand(task.entrypoint, `entrypoint of task "${task.name}"`), ...params];
  if (s.command === undefined) {
    throw new ConfigError('the cube does not say how to run it on the host (no local.command)', {
      place: { task: task.name },
      suggestions: ['Add to mlcube.yaml: `local: {command: "node dist/main.js"}` (the program receives <task> --param=<path> ...).'],
    });
  }
  return [...s.command, task.name, ...params];
}

/** Environment of a local task: the host's, the cube's env_args, GPU selection, MLCUBE_* facts and the metrics file. */
export function localEnv(task: ResolvedTask, ctx: Pick<RunContext<LocalSettings>, 'settings' | 'env' | 'workspace' | 'root' | 'taskIo' | 'runId'>): Record<string, string | undefined> {
  const { gpus } = ctx.settings;
  const env: Record<string, string | undefined> = { ...ctx.env, ...ctx.settings.env };
  const visible = cudaVisibleDevices(gpus);
  if (gpus.kind !== 'none' || ctx.settings.hideGpus) {
    if (visible === undefined) delete env.CUDA_VISIBLE_DEVICES;
    else env.CUDA_VISIBLE_DEVICES = visible;
  }
  env.MLCUBE_GPUS = describeGpus(gpus);
  env.MLCUBE_TASK = task.name;
  env.MLCUBE_WORKSPACE = ctx.workspace;
  env.MLCUBE_ROOT = ctx.root;
  if (ctx.taskIo) env[METRICS_ENV] = join(ctx.taskIo.metricsDir, METRICS_FILE_NAME);
  // Tells a killed run's processes apart from any other (src/provenance/reaper.ts); recorded runs only.
  if (ctx.runId) env.MLCUBE_RUN_ID = ctx.runId;
  else delete env.MLCUBE_RUN_ID;
  return env;
}

/** Runs tasks as host subprocesses: no container, no image; output streamed, exit code propagated. */
export class LocalRunner implements Runner<LocalSettings> {
  readonly name = 'local';
  readonly capabilities = localRunner.capabilities;

  async probe(): Promise<Availability> {
    return { available: true, version: `node ${process.version}`, detail: `host ${hostname()}` };
  }

  async configure(): Promise<void> {}

  preview(task: ResolvedTask, ctx: RunContext<LocalSettings>): TaskPreview {
    // The host's own variables are passed on as they are: listed as such, not one by one.
    return { argv: localArgv(task, ctx.settings), env: Object.keys(localEnv(task, { ...ctx, env: {} })).sort(), host_env: true, mounts: [] };
  }

  async check(tasks: readonly ResolvedTask[], ctx: RunContext<LocalSettings>): Promise<void> {
    for (const task of tasks)
      checkHostCommand(task, localArgv(task, ctx.settings), localEnv(task, ctx), ctx.settings.workdir, task.entrypoint ? `the entrypoint of task "${task.name}"` : 'local.command');
  }

  async run(task: ResolvedTask, ctx: RunContext<LocalSettings>): Promise<TaskResult> {
    const [file, ...args] = localArgv(task, ctx.settings);
    const cwd = ctx.settings.workdir;
    const env = localEnv(task, ctx);
    ctx.log.info(`running task "${task.name}" on the host: ${[file, ...args].join(' ')} (cwd ${cwd}, GPUs ${env.MLCUBE_GPUS})`);
    // A signal that came before (even before this run() was called): nothing is started.
    if (ctx.signal.aborted) throw new InterruptedError(`interrupted (${String(ctx.signal.reason)}) before the task started: its process was not started`, { place: { task: task.name } });
    const started = Date.now();
    ctx.log.debug(`starting the task process at ${performance.now().toFixed(0)} ms`);
    const result = await spawnTask(file, args, { cwd, env, signal: ctx.signal, killAfterMs: STOP_GRACE_MS, io: ctx.taskIo, stdoutTo: ctx.stdoutTo, onStarted: ctx.onTaskProcess });
    ctx.log.debug(`task process ended at ${performance.now().toFixed(0)} ms`);
    const durationMs = Date.now() - started;
    if (ctx.signal.aborted) {
      const stop = result.stop ? ` in ${(result.stop.ms / 1000).toFixed(1)} s (${result.stop.killed ? `SIGTERM, then SIGKILL after ${STOP_GRACE_MS / 1000} s` : 'SIGTERM'})` : '';
      throw new InterruptedError(`task "${task.name}" was interrupted; its process group was stopped${stop}`, { place: { task: task.name } });
    }
    if (result.startError) {
      throw new ConfigError(`cannot start "${file}": ${result.startError.message}`, {
        place: { task: task.name },
        suggestions: [`Check local.command / the task entrypoint: "${file}" must be an executable on PATH or relative to ${cwd}.`],
      });
    }
    const exitCode = result.exitCode ?? (result.signal ? 128 + (constants.signals[result.signal] ?? 0) : 1);
    return { exitCode, durationMs, ...(result.usage ? { usage: result.usage } : {}) };
  }
}

/** How long a stopped task gets between SIGTERM and SIGKILL. */
const STOP_GRACE_MS = 5000;

interface SpawnResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  startError?: Error;
  usage?: TaskUsage;
  /** Stopped on abort: how long from SIGTERM until the whole group was gone, and whether SIGKILL was needed. */
  stop?: { ms: number; killed: boolean };
}

/** How long output may still arrive after the task exited (a process it left behind may hold its pipes open). */
const DRAIN_MS = 2000;

/**
 * The task as a child process in a process group of its own (detached: its own session), so that it and every
 * process it starts can be stopped together, by us on abort, or by a later mlcube if this one is killed (its pgid
 * goes into the running record through `onStarted`). On abort the group gets SIGTERM, and SIGKILL what is left of
 * it `killAfterMs` later. A terminal's Ctrl-C now reaches only mlcube, which passes it on this way. Without `io` it
 * shares our stdio (nothing captured or piped, as a terminal program expects; its stdout is our stderr under
 * `run --json`); with it, stdout and stderr are piped into io's streams (stdin stays ours) and its resource usage is
 * measured. node:child_process, not execa: this is all the local runner needs, and execa's ~160 kB would be loaded
 * and evaluated by every local run.
 */
function spawnTask(
  file: string,
  args: string[],
  o: {
    cwd: string;
    env: Record<string, string | undefined>;
    signal: AbortSignal;
    killAfterMs: number;
    io?: TaskIo;
    stdoutTo?: StdoutRoute;
    onStarted?: (p: { pgid: number; start: number | null }) => void;
  },
): Promise<SpawnResult> {
  return new Promise((resolve) => {
    const meter = o.io ? hostUsageMeter() : undefined;
    const child = spawn(file, args, { cwd: o.cwd, env: o.env, stdio: o.io ? ['inherit', 'pipe', 'pipe'] : ['inherit', stdoutStdio(o.stdoutTo), 'inherit'], detached: true });
    const pgid = child.pid;
    // At once, in the same tick: the window in which a SIGKILL of mlcube would leave the group unrecorded is nil.
    if (pgid !== undefined) o.onStarted?.({ pgid, start: procStartTicks(pgid) });
    meter?.watch(child.pid);
    // Everything the task wrote reaches io's streams once its pipes end (io's streams are the caller's to end).
    const drained = o.io ? Promise.all([pipeInto(child.stdout!, o.io.stdout), pipeInto(child.stderr!, o.io.stderr)]) : Promise.resolve();
    let killTimer: NodeJS.Timeout | undefined;
    let abortedAt: number | undefined;
    let killed = false;
    const kill = () => {
      killed = true;
      if (pgid !== undefined) signalGroup(pgid, 'SIGKILL');
    };
    const onAbort = () => {
      abortedAt = Date.now();
      if (pgid !== undefined) signalGroup(pgid, 'SIGTERM');
      killTimer = setTimeout(kill, o.killAfterMs);
    };
    if (o.signal.aborted) onAbort();
    else o.signal.addEventListener('abort', onAbort, { once: true });
    let startError: Error | undefined;
    child.once('error', (e) => (startError = e));
    // 'exit', not 'close': the child is reaped (its CPU time is in our cutime), and a process it left running that
    // still holds the pipes gets DRAIN_MS to let go rather than holding the run forever.
    let settled = false;
    const settle = async (exitCode: number | null, signal: NodeJS.Signals | null) => {
      if (settled) return;
      settled = true;
      o.signal.removeEventListener('abort', onAbort);
      if (abortedAt !== undefined && pgid !== undefined) {
        // Processes the task started are in its group: they get the rest of the grace, then SIGKILL.
        while (groupMembers(pgid).length && Date.now() - abortedAt < o.killAfterMs) await new Promise((r) => setTimeout(r, 25));
        if (groupMembers(pgid).length) kill();
      }
      clearTimeout(killTimer);
      const stop = abortedAt !== undefined ? { ms: Date.now() - abortedAt, killed } : undefined;
      const usage = meter?.stop();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([drained, new Promise((r) => (timer = setTimeout(r, DRAIN_MS)))]);
      clearTimeout(timer);
      for (const s of [child.stdout, child.stderr]) {
        s?.unpipe();
        s?.destroy();
      }
      // Read only now: a start failure's 'error' may come after its 'exit'.
      resolve(startError ? { exitCode: null, signal: null, startError } : { exitCode, signal, ...(usage ? { usage } : {}), ...(stop ? { stop } : {}) });
    };
    child.once('exit', (code, sig) => void settle(code, sig));
    // A child that never started may emit 'error' and 'close' without 'exit'.
    child.once('close', (code, sig) => void settle(code, sig));
  });
}
