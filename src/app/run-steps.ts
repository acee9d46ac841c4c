import { mkdirSync } from 'node:fs';
import { cp } from 'node:fs/promises';
import { dirname } from 'node:path';
import { InterruptedError, TaskFailedError } from '../errors.js';
import { realFs } from '../params/fs-probe.js';
import type { ResolvedTask } from '../params/resolve.js';
import type { SyncCopy } from '../params/sync.js';
import type { RunPlan } from '../plan/run-plan.js';
import type { RunContext, TaskResult } from '../runner.js';
import type { TaskOutcome } from '../hooks/hook.js';
import { gateFailure } from '../hooks/gates.js';
import type { AppEnv } from './context.js';
import type { StdoutRoute } from '../task-io.js';

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

/** A task's outcome, once through the hooks: kept in `results`; a failure stops the run with the task's exit code. */
export function settle(plan: RunPlan, outcome: TaskOutcome, results: TaskOutcome[], app: AppEnv): void {
  results.push(outcome);
  if (outcome.exitCode !== 0) throw taskFailed(plan, outcome.task, outcome.exitCode);
  if (outcome.gates?.release === 'failed') throw gateFailure(outcome.task, outcome.gates, notRunAfter(plan, outcome.task));
  app.log.info(`task "${outcome.task}" succeeded in ${(outcome.durationMs / 1000).toFixed(1)} s`);
}

const notRunAfter = (plan: RunPlan, t: string) => plan.tasks.map((x) => x.name).slice(plan.tasks.findIndex((x) => x.name === t) + 1);

function taskFailed(plan: RunPlan, t: string, exitCode: number): TaskFailedError {
  const rest = notRunAfter(plan, t);
  return new TaskFailedError(`task failed with exit code ${exitCode} on the ${plan.runner.name} runner${rest.length ? `; not run: ${rest.join(', ')}` : ''}`, exitCode, {
    place: { task: t },
    suggestions: ['Read the task output above; re-run just this task with --task=' + t + ' once fixed.'],
  });
}

/** Output directories (and parents of output files) exist before the task starts, owned by the invoking user. */
export function createOutputDirs(task: ResolvedTask): void {
  for (const p of task.params) {
    if (p.io !== 'output') continue;
    mkdirSync(p.type === 'directory' ? p.hostPath : dirname(p.hostPath), { recursive: true });
  }
}
