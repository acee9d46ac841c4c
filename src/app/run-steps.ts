import { mkdirSync } from 'node:fs';
import { cp } from 'node:fs/promises';
import { dirname } from 'node:path';
import { InterruptedError, TaskFailedError, TaskTimedOutError } from '../errors.js';
import { formatTimeout } from '../plan/timeout.js';
import { realFs } from '../params/fs-probe.js';
import type { ResolvedTask } from '../params/resolve.js';
import type { SyncCopy } from '../params/sync.js';
import type { PlannedTask, RunPlan } from '../plan/run-plan.js';
import type { RunContext, TaskResult } from '../runner.js';
import type { TaskOutcome } from '../hooks/hook.js';
import { gateFailure } from '../hooks/gates.js';
import type { AppEnv } from './context.js';
import type { StdoutRoute } from '../task-io.js';
import type { GraphRun } from './run-graph.js';

/**
 * What the runner is given for the tasks of a plan; `jobEnv`: what a batch job's own `mlcube run` must get;
 * `stdoutTo`: which of mlcube's streams shows the tasks' stdout.
 */
export function runContext(plan: RunPlan, app: AppEnv, signal: AbortSignal, more: { jobEnv?: Record<string, string>; stdoutTo?: StdoutRoute } = {}): RunContext {
  const { jobEnv, stdoutTo } = more;
  return {
    config: plan.config,
    settings: plan.settings,
    root: plan.cube.root,
    workspace: plan.workspace,
    log: app.log,
    signal,
    env: app.env,
    invocation: { ...plan.invocation, ...(jobEnv && Object.keys(jobEnv).length ? { env: jobEnv } : {}) },
    ...(stdoutTo ? { stdoutTo } : {}),
  };
}

/**
 * Python's workspace sync, once the claim is held: a copy another run made meanwhile is not made again. Async:
 * a large copy must not stall the event loop that keeps the locks fresh.
 */
export async function syncWorkspace(syncs: readonly SyncCopy[], app: AppEnv): Promise<void> {
  for (const c of syncs) {
    if (realFs.kind(c.to) !== 'missing') continue;
    app.log.info(`copying ${c.from} to ${c.to} (input missing in the workspace)`);
    await cp(c.from, c.to, { recursive: true, errorOnExist: true, force: false });
  }
}

/** A Ctrl-C that came before `task` started (even before the run had begun): nothing more is started. */
export function throwIfAborted(signal: AbortSignal, task: string): void {
  if (!signal.aborted) return;
  throw new InterruptedError(`interrupted (${String(signal.reason)}) before the task started: it was not started`, { place: { task } });
}

/** What a runner's (or a batch job's) result tells the hooks. */
export function outcomeOf(task: string, r: Pick<TaskResult, 'exitCode' | 'durationMs' | 'usage'>): TaskOutcome {
  return { task, exitCode: r.exitCode, durationMs: r.durationMs, ...(r.usage ? { usage: r.usage } : {}) };
}

/** A task outcome that fails the run: a non-zero exit code, or release gates that failed. */
export const outcomeFailed = (o: TaskOutcome) => o.exitCode !== 0 || o.gates?.release === 'failed';

/**
 * The graph's run (src/app/run-graph.ts) as the run's result: the first failure thrown (a task's exit code, its
 * gates, or what its run threw), naming the tasks that did not run; Ctrl-C between tasks is an InterruptedError.
 */
export function settleGraph(plan: RunPlan, run: GraphRun, signal: AbortSignal): void {
  const f = run.failure;
  if (f && 'error' in f) throw f.error;
  if (f) {
    if (f.outcome.exitCode !== 0) throw taskFailed(plan, f.task, f.outcome.exitCode, run.notRun);
    throw gateFailure(f.task, f.outcome.gates!, run.notRun);
  }
  if (run.notRun.length) throwIfAborted(signal, run.notRun[0]);
}

function taskFailed(plan: RunPlan, t: string, exitCode: number, notRun: readonly string[]): TaskFailedError {
  return new TaskFailedError(`task failed with exit code ${exitCode} on the ${plan.runner.name} runner${notRun.length ? `; not run: ${notRun.join(', ')}` : ''}`, exitCode, {
    place: { task: t },
    suggestions: ['Read the task output above; re-run just this task with --task=' + t + ' once fixed.'],
  });
}

/** Output directories (and parents of output files) exist before the task starts, owned by the invoking user. */
export function createOutputDirs(task: ResolvedTask): void {
  for (const p of task.params) {
    if (p.io !== 'output') continue;
    // An encrypted output's path is the ciphertext file it is sealed into.
    mkdirSync(p.type === 'directory' && !p.encryption ? p.hostPath : dirname(p.hostPath), { recursive: true });
  }
}

/**
 * Runs the task with its timeout (README "Timeouts"): past it, the task's signal aborts, so the runner stops it as it
 * stops an interrupted one (SIGTERM then SIGKILL to its process group, container stop), and the run fails with
 * TaskTimedOutError (exit 124, the record says timed_out) instead of an interrupt.
 */
export async function withTimeout(task: PlannedTask, ctx: RunContext, run: (ctx: RunContext) => Promise<TaskResult>): Promise<TaskResult> {
  if (task.timeoutMs === null) return run(ctx);
  const limit = task.timeoutMs;
  const timer = AbortSignal.timeout(limit);
  const started = Date.now();
  try {
    return await run({ ...ctx, signal: AbortSignal.any([ctx.signal, timer]) });
  } catch (e) {
    if (!timer.aborted || ctx.signal.aborted) throw e;
    throw new TaskTimedOutError(`the task ran past its timeout of ${formatTimeout(limit)} and was stopped after ${((Date.now() - started) / 1000).toFixed(1)} s`, {
      place: { task: task.name },
      suggestions: [`Give it more time: timeout in tasks.${task.name} of the cube file, or --timeout for this run (e.g. --timeout=${Math.ceil((limit * 2) / 1000)}s).`],
    });
  }
}
