import { throughHooks, type RunHook, type TaskOutcome } from '../hooks/hook.js';
import { planTasks, type PlanInput } from '../plan/plan.js';
import type { RunPlan } from '../plan/run-plan.js';
import type { Runner, SubmittedJob } from '../runner.js';
import type { AppEnv } from './context.js';
import type { StdoutRoute } from '../task-io.js';
import { createOutputDirs, outcomeFailed, outcomeOf, runContext, settleGraph, syncWorkspace, throwIfAborted } from './run-steps.js';
import { runGraph } from './run-graph.js';
import { TaskTimedOutError } from '../errors.js';

export interface BatchOptions {
  signal: AbortSignal;
  /** Submit and return without following the jobs. */
  detach: boolean;
  onSubmitted?: (jobs: SubmittedJob[]) => void;
  stdoutTo?: StdoutRoute;
}

/**
 * A batch runner's task graph (e.g. Slurm afterok on every parent): submitted at once, then each task passes through
 * the hooks with next() = following its job to its exit code, independent jobs followed side by side. A failed job
 * has the jobs that wait for it cancelled; the others run on. Not locked here: each job's own `mlcube run` claims its
 * task's paths (holding them here would deadlock it), and records its task where it runs. Each outcome is pushed onto
 * `results`.
 */
export async function runBatch(plan: RunPlan, input: PlanInput, runner: Runner, hooks: readonly RunHook[], opts: BatchOptions, app: AppEnv, results: TaskOutcome[]): Promise<void> {
  if (!runner.submitGraph) throw new Error(`internal: the ${runner.name} runner is a batch runner without submitGraph`);
  await syncWorkspace(plan.syncs, app);
  // Planned again after the sync (what it copied exists now); every output exists before submission.
  const names = plan.tasks.map((t) => t.name);
  const tasks = planTasks(input, plan.settings, names, plan.syncs);
  throwIfAborted(opts.signal, tasks[0].name);
  tasks.forEach(createOutputDirs);
  const jobEnv: Record<string, string> = Object.assign({}, ...hooks.map((h) => h.jobEnv?.(plan) ?? {}));
  const ctx = runContext(plan, app, opts.signal, { jobEnv, stdoutTo: opts.stdoutTo });
  const parents = names.map((t) => plan.graph.parents[t].map((p) => names.indexOf(p)));
  const graph = await runner.submitGraph(tasks, parents, ctx);
  opts.onSubmitted?.(graph.jobs);
  if (opts.detach) return;
  let followed = false;
  try {
    const run = await runGraph(
      plan.graph,
      {
        limit: Infinity,
        signal: opts.signal,
        failed: outcomeFailed,
        failsTaskOnly: (e) => e instanceof TaskTimedOutError,
        log: app.log,
        onCancel: (cancelled) => graph.cancel(cancelled.map((t) => names.indexOf(t))),
      },
      async (name) => {
        const i = names.indexOf(name);
        const outcome = await throughHooks(hooks, tasks[i], { plan, runner, run: ctx, batch: true }, async () => outcomeOf(name, await graph.wait(i)));
        results.push(outcome);
        return outcome;
      },
    );
    followed = run.failure === undefined;
    settleGraph(plan, run, opts.signal);
  } finally {
    // A hook that failed, or a task that did: the jobs not yet ended must not run on unwatched.
    if (!followed) await graph.cancel();
  }
}
