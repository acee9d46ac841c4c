import { throughHooks, type RunHook, type TaskOutcome } from '../hooks/hook.js';
import { planTask, type PlanInput } from '../plan/plan.js';
import type { RunPlan } from '../plan/run-plan.js';
import type { RunContext, Runner } from '../runner.js';
import { claimPaths, type HeldClaim } from '../workspace-lock.js';
import type { AppEnv } from './context.js';
import type { StdoutRoute } from '../task-io.js';
import { createOutputDirs, outcomeOf, runContext, settle, syncWorkspace, throwIfAborted } from './run-steps.js';

export interface AttachedOptions {
  signal: AbortSignal;
  /** false (--no-wait): fail with OutputsBusyError instead of waiting for another run. */
  wait: boolean;
  stdoutTo?: StdoutRoute;
}

/**
 * An attached runner's tasks, in order, while the run holds its claim on the workspace (src/workspace-lock.ts):
 * taken after every check (a run that fails them changes nothing), before anything is written; a claim lost while
 * running stops the task like Ctrl-C, then fails the run (exit 75). Each task's outcome is pushed onto `results`.
 */
export async function runAttached(plan: RunPlan, input: PlanInput, runner: Runner, hooks: readonly RunHook[], opts: AttachedOptions, app: AppEnv, results: TaskOutcome[]): Promise<void> {
  const lost = new AbortController();
  const claim = await claimPaths({
    workspace: plan.workspace,
    tasks: plan.tasks.map((t) => t.name),
    ...plan.claims,
    wait: opts.wait,
    signal: opts.signal,
    log: app.log,
    onLost: (e) => {
      app.log.error(`the workspace lock was lost: stopping the task (${e.code}, below)`);
      lost.abort(e);
    },
  });
  app.log.debug(`workspace lock held at ${performance.now().toFixed(0)} ms`);
  try {
    await runClaimed(plan, input, runner, hooks, claim, runContext(plan, app, AbortSignal.any([opts.signal, lost.signal]), { stdoutTo: opts.stdoutTo }), app, results);
  } catch (e) {
    if (claim.lost && !opts.signal.aborted) throw claim.lost;
    throw e;
  } finally {
    await claim.release();
  }
}

async function runClaimed(plan: RunPlan, input: PlanInput, runner: Runner, hooks: readonly RunHook[], claim: HeldClaim, ctx: RunContext, app: AppEnv, results: TaskOutcome[]): Promise<void> {
  await syncWorkspace(plan.syncs, app);
  for (const planned of plan.tasks) {
    // Planned again now that the earlier tasks ran: what they made exists (an input of type unknown is what it is now).
    const task = planTask(input, plan.settings, planned.name);
    claim.update({ task: task.name });
    throwIfAborted(ctx.signal, task.name);
    createOutputDirs(task);
    let cleanup: Promise<void> | undefined;
    let outcome: TaskOutcome;
    try {
      outcome = await throughHooks(hooks, task, { plan, runner, run: ctx, batch: false }, async (c) => {
        // Waiting runs are shown the record this one is on.
        if (c.run.runId) claim.update({ task: task.name, runId: c.run.runId });
        const r = await runner.run(task, c.run);
        cleanup = r.cleanup;
        return outcomeOf(task.name, r);
      });
    } finally {
      // The runner's clean-up (e.g. removing the container) went on while the hooks finished (the record written).
      await cleanup;
    }
    settle(plan, outcome, results, app);
  }
}
