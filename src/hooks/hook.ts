import type { PlannedTask, RunPlan } from '../plan/run-plan.js';
import type { RunContext, Runner, TaskResult, TaskUsage } from '../runner.js';
import type { GateReport } from '../gates/evaluate.js';

/** How one task run ended (what next() resolves with). A task that threw (Ctrl-C, a runner error) rejects instead. */
export interface TaskOutcome {
  task: string;
  exitCode: number;
  durationMs: number;
  /** Resources the task used, when the runner measured them (it does when given a TaskIo). */
  usage?: TaskUsage;
  /** The run record's id (`<workspace>/.mlcube/runs/<id>/`), set by the provenance hook. */
  runId?: string;
  /** The task cache gave its outputs (README "Task cache"): the run that made them; the task did not run. */
  cachedFrom?: string;
  /** The task's release decision, when it has gates and exited 0 (src/hooks/gates.ts): a failed one stops the run with exit 7. */
  gates?: GateReport;
}

/** What a hook is told about the task it wraps. */
export interface TaskHookContext {
  readonly plan: RunPlan;
  readonly runner: Runner;
  /** What the runner is given for this task; a hook passes next() an extended one (e.g. the recorder's taskIo and runId). */
  readonly run: RunContext;
  /**
   * The task runs as a batch job (RunPlan.runner.capabilities.batch): next() waits for the job that was submitted with the chain,
   * and the job's own `mlcube run` passes the task through its hooks on the node where it runs.
   */
  readonly batch: boolean;
  /**
   * The task cache has its outputs (src/cache/task-cache.ts): this puts them back instead of starting the task
   * (set by the provenance hook, called where the runner would be).
   */
  readonly cached?: (run: RunContext) => Promise<TaskResult>;
}

/** Runs the rest of the chain of hooks and then the task; called at most once. */
export type NextTask = (ctx?: TaskHookContext) => Promise<TaskOutcome>;

/**
 * The extension point around `mlcube run` (src/app/run.ts), for what acts around task runs (records, policies,
 * reports...). Hooks are registered in order; the first is the outermost around each task.
 */
export interface RunHook {
  readonly name: string;
  /**
   * After every check of the run passed (the plan, the runner's pre-flight), before anything is created on disk.
   * A hook that refuses the run throws an MlcubeError, and must have written nothing itself.
   */
  beforeRun?(plan: RunPlan): void | Promise<void>;
  /**
   * Around each task, in order: calls next() to run it (or does not, and resolves with an outcome of its own) and
   * resolves with its outcome. The run stops at the first task whose outcome is not exit code 0.
   */
  aroundTask?(task: PlannedTask, ctx: TaskHookContext, next: NextTask): Promise<TaskOutcome>;
  /** After the last task (also after a failed or interrupted one: `results` holds the tasks that ended; empty with --detach). */
  afterRun?(plan: RunPlan, results: readonly TaskOutcome[]): void | Promise<void>;
  /** Batch runners: environment each job's own `mlcube run` needs for this hook to do its part there (e.g. the signing key). */
  jobEnv?(plan: RunPlan): Record<string, string>;
}

/** The task through every hook's aroundTask (the first outermost), then `run`. */
export function throughHooks(hooks: readonly RunHook[], task: PlannedTask, ctx: TaskHookContext, run: (ctx: TaskHookContext) => Promise<TaskOutcome>): Promise<TaskOutcome> {
  const at = (i: number, c: TaskHookContext): Promise<TaskOutcome> => {
    const hook = hooks.slice(i).find((h) => h.aroundTask);
    if (!hook) return run(c);
    const after = hooks.indexOf(hook) + 1;
    let called = false;
    return hook.aroundTask!(task, c, (next = c) => {
      // A second call would start the task twice.
      if (called) return Promise.reject(new Error(`internal: hook "${hook.name}" called next() twice for task "${task.name}"`));
      called = true;
      return at(after, next);
    });
  };
  return at(0, ctx);
}
