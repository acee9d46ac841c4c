import { throughHooks, type RunHook, type TaskOutcome } from '../hooks/hook.js';
import { planTasks, type PlanInput } from '../plan/plan.js';
import type { RunPlan } from '../plan/run-plan.js';
import type { Runner, SubmittedJob } from '../runner.js';
import type { AppEnv } from './context.js';
import type { StdoutRoute } from '../task-io.js';
import { createOutputDirs, outcomeOf, runContext, settle, syncWorkspace, throwIfAborted } from './run-steps.js';

export interface BatchOptions {
  signal: AbortSignal;
  /** Submit and return without following the jobs. */
  detach: boolean;
  onSubmitted?: (jobs: SubmittedJob[]) => void;
  stdoutTo?: StdoutRoute;
}

/**
 * A batch runner's chain (e.g. Slurm afterok): submitted at once, then each task passes through the hooks with
 * next() = following its job to its exit code. Not locked here: each job's own `mlcube run` claims its task's paths
 * (holding them here would deadlock it), and records its task where it runs. Each outcome is pushed onto `results`.
 */
export async function runBatch(plan: RunPlan, input: PlanInput, runner: Runner, hooks: readonly RunHook[], opts: BatchOptions, app: AppEnv, results: TaskOutcome[]): Promise<void> {
  if (!runner.submitChain) throw new Error(`internal: the ${runner.name} runner is a batch runner without submitChain`);
  await syncWorkspace(plan.syncs, app);
  // Planned again after the sync (what it copied exists now); every output exists before submission.
  const tasks = planTasks(
    input,
    plan.settings,
    plan.tasks.map((t) => t.name),
    plan.syncs,
  );
  throwIfAborted(opts.signal, tasks[0].name);
  tasks.forEach(createOutputDirs);
  const jobEnv: Record<string, string> = Object.assign({}, ...hooks.map((h) => h.jobEnv?.(plan) ?? {}));
  const ctx = runContext(plan, app, opts.signal, { jobEnv, stdoutTo: opts.stdoutTo });
  const chain = await runner.submitChain(tasks, ctx);
  opts.onSubmitted?.(chain.jobs);
  if (opts.detach) return;
  let followed = false;
  try {
    for (const [i, task] of tasks.entries()) {
      const outcome = await throughHooks(hooks, task, { plan, runner, run: ctx, batch: true }, async () => outcomeOf(task.name, await chain.wait(i)));
      settle(plan, outcome, results, app);
    }
    followed = true;
  } finally {
    // A hook that failed, or a task that did: the jobs not yet ended must not run on unwatched.
    if (!followed) await chain.cancel();
  }
}
