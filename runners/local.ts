import { constants, hostname } from 'node:os';
import { resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { ConfigError, InterruptedError } from '../src/errors.js';
import { isTree, type Tree } from '../src/config/tree.js';
import type { Availability, RunContext, Runner, TaskResult } from '../src/runner.js';
import type { ResolvedTask } from '../src/params/resolve.js';
import { splitCommand } from '../src/params/split-command.js';
import { cudaVisibleDevices, describeGpus, gpuRequest } from '../src/params/gpus.js';

/** argv of a task on the host: `<command> <task> --p=<host path>...`, or `<entrypoint> --p=...` for custom entrypoints. */
export function localArgv(task: ResolvedTask, runner: Tree): string[] {
  const params = task.params.map((p) => `--${p.name}=${p.hostPath}`);
  if (task.entrypoint) return [...splitCommand(task.entrypoint, `entrypoint of task "${task.name}"`), ...params];
  const command = runner.command;
  if (command === null || command === undefined || (typeof command === 'string' && command.trim() === '')) {
    throw new ConfigError('the cube does not say how to run it on the host (no local.command)', {
      place: { task: task.name },
      suggestions: ['Add to mlcube.yaml: `local: {command: "node dist/main.js"}` (the program receives <task> --param=<path> ...).'],
    });
  }
  return [...splitCommand(command as string | string[], 'local.command'), task.name, ...params];
}

/** Environment of a local task: the host's, the cube's env_args, GPU selection and MLCUBE_* facts. */
export function localEnv(task: ResolvedTask, ctx: Pick<RunContext, 'config' | 'env' | 'workspace' | 'root'>): Record<string, string | undefined> {
  const runner = ctx.config.runner as Tree;
  const env: Record<string, string | undefined> = { ...ctx.env };
  if (isTree(runner.env_args)) for (const [k, v] of Object.entries(runner.env_args)) env[k] = String(v);
  const platform = isTree(ctx.config.platform) ? ctx.config.platform : {};
  const gpus = gpuRequest(runner['--gpus'] as string | null | undefined, platform.accelerator_count);
  const visible = cudaVisibleDevices(gpus);
  if (runner['--gpus'] !== null && runner['--gpus'] !== undefined || gpus.kind !== 'none') {
    if (visible === undefined) delete env.CUDA_VISIBLE_DEVICES;
    else env.CUDA_VISIBLE_DEVICES = visible;
  }
  env.MLCUBE_GPUS = describeGpus(gpus);
  env.MLCUBE_TASK = task.name;
  env.MLCUBE_WORKSPACE = ctx.workspace;
  env.MLCUBE_ROOT = ctx.root;
  return env;
}

/** Runs tasks as host subprocesses: no container, no image; output streamed, exit code propagated. */
export class LocalRunner implements Runner {
  readonly name = 'local';
  readonly runsOnHost = true;

  async probe(): Promise<Availability> {
    return { available: true, version: `node ${process.version}`, detail: `host ${hostname()}` };
  }

  async configure(): Promise<void> {}

  async run(task: ResolvedTask, ctx: RunContext): Promise<TaskResult> {
    const runner = ctx.config.runner as Tree;
    const [file, ...args] = localArgv(task, runner);
    const cwd = resolve(ctx.root, String(runner.workdir ?? '.'));
    const env = localEnv(task, ctx);
    ctx.log.info(`running task "${task.name}" on the host: ${[file, ...args].join(' ')} (cwd ${cwd}, GPUs ${env.MLCUBE_GPUS})`);
    await ctx.startGate;
    const started = Date.now();
    ctx.log.debug(`starting the task process at ${performance.now().toFixed(0)} ms`);
    const result = await spawnInherited(file, args, { cwd, env, signal: ctx.signal, killAfterMs: 5000 });
    ctx.log.debug(`task process ended at ${performance.now().toFixed(0)} ms`);
    const durationMs = Date.now() - started;
    if (ctx.signal.aborted) throw new InterruptedError(`task "${task.name}" was interrupted; its process was stopped`, { place: { task: task.name } });
    if (result.startError) {
      throw new ConfigError(`cannot start "${file}": ${result.startError.message}`, {
        place: { task: task.name },
        suggestions: [`Check local.command / the task entrypoint: "${file}" must be an executable on PATH or relative to ${cwd}.`],
      });
    }
    const exitCode = result.exitCode ?? (result.signal ? 128 + (constants.signals[result.signal] ?? 0) : 1);
    return { exitCode, durationMs };
  }
}

interface SpawnResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  startError?: Error;
}

/**
 * The task as a child process sharing our stdio (nothing captured or piped), stopped with SIGTERM when `signal`
 * aborts and SIGKILL `killAfterMs` later. node:child_process, not execa: this is all the local runner needs, and
 * execa's ~160 kB would be loaded and evaluated by every local run.
 */
function spawnInherited(file: string, args: string[], o: { cwd: string; env: Record<string, string | undefined>; signal: AbortSignal; killAfterMs: number }): Promise<SpawnResult> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { cwd: o.cwd, env: o.env, stdio: 'inherit' });
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), o.killAfterMs);
    };
    if (o.signal.aborted) onAbort();
    else o.signal.addEventListener('abort', onAbort, { once: true });
    let startError: Error | undefined;
    child.once('error', (e) => (startError = e));
    child.once('close', (exitCode, signal) => {
      o.signal.removeEventListener('abort', onAbort);
      clearTimeout(killTimer);
      resolve(startError ? { exitCode: null, signal: null, startError } : { exitCode, signal });
    });
  });
}
