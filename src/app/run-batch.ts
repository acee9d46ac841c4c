import { throughHooks, type RunHook, type TaskOutcome } from '../hooks/hook.js';
import { planTasks, type PlanInput } from '../plan/plan.js';
import type { RunPlan } from '../plan/run-plan.js';
import type { ArrayJobSpec, Runner, SubmittedArray, SubmittedGraph, SubmittedJob, TaskResult } from '../runner.js';
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
  /** A sweep's points as one array job after the plan's tasks (README "Sweeps and experiments"). */
  array?: BatchArray;
}

/** A sweep's array job: submitted once the plan's jobs are (each element afterok on all of them), followed beside them. */
export interface BatchArray {
  spec: ArrayJobSpec;
  /** No task is shared by the points: the plan (one point's) is checked, but only the array is submitted. */
  alone: boolean;
  /** Told how each element ended. */
  onEnded: (k: number, r: TaskResult) => void;
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
  const graph: SubmittedGraph = opts.array?.alone
    ? { jobs: [], wait: () => Promise.reject(new Error('internal: no job')), cancel: async () => undefined }
    : await runner.submitGraph(tasks, parents, ctx);
  let array: SubmittedArray | undefined;
  if (opts.array) {
    if (!runner.submitArray) throw new Error(`internal: the ${runner.name} runner is a batch runner without submitArray`);
    try {
      array = await runner.submitArray(opts.array.spec, opts.array.alone ? [] : graph.jobs.map((j) => j.jobId), ctx);
    } catch (e) {
      await graph.cancel();
      throw e;
    }
  }
  opts.onSubmitted?.([...graph.jobs, ...(array?.jobs ?? [])]);
  if (opts.detach) return;
  const arrayEnded = array ? Promise.all(array.jobs.map((_, k) => array.wait(k).then((r) => opts.array!.onEnded(k, r)))) : Promise.resolve([]);
  // Followed from here on; an element that could not be followed (Ctrl-C, Slurm lost it) is the run's error, below.
  arrayEnded.catch(() => undefined);
  let followed = false;
  try {
    if (opts.array?.alone) {
      await arrayEnded;
      followed = true;
      return;
    }
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
    await arrayEnded;
  } finally {
    // A hook that failed, or a task that did: the jobs not yet ended must not run on unwatched.
    if (!followed) {
      await graph.cancel();
      await array?.cancel();
      await arrayEnded.catch(() => undefined);
    }
  }
}
