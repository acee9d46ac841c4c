import { throughHooks, type RunHook, type TaskOutcome } from '../hooks/hook.js';
import { planTask, type PlanInput } from '../plan/plan.js';
import type { RunPlan } from '../plan/run-plan.js';
import type { RunContext, Runner } from '../runner.js';
import { claimPaths, type HeldClaim } from '../workspace-lock.js';
import type { AppEnv } from './context.js';
import type { StdoutRoute } from '../task-io.js';
import { createOutputDirs, outcomeFailed, outcomeOf, runContext, settleGraph, syncWorkspace, withTimeout } from './run-steps.js';
import { runGraph } from './run-graph.js';
import { openPrivateIo } from './private-io.js';
import { TaskTimedOutError } from '../errors.js';

export interface AttachedOptions {
  signal: AbortSignal;
  /** false (--no-wait): fail with OutputsBusyError instead of waiting for another run. */
  wait: boolean;
  /** At most this many tasks at once (--jobs). */
  jobs: number;
  /** A bound shared with other runs of this process (a sweep's points): each task holds a slot while it runs. */
  slots?: TaskSlots;
  stdoutTo?: StdoutRoute;
}

/** At most `n` tasks at once across several runs (a sweep's points, src/app/sweep.ts): acquire() resolves with the slot's release. */
export interface TaskSlots {
  acquire(): Promise<() => void>;
}

export function taskSlots(n: number): TaskSlots {
  let free = n;
  const waiting: (() => void)[] = [];
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else free++;
  };
  return {
    acquire: () => {
      if (free > 0) {
        free--;
        return Promise.resolve(release);
      }
      return new Promise((res) => waiting.push(() => res(release)));
    },
  };
}

/**
 * An attached runner's tasks, in graph order (up to `jobs` side by side, src/app/run-graph.ts), while the run holds its claim on the workspace (src/workspace-lock.ts):
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
    await runClaimed(plan, input, runner, hooks, claim, runContext(plan, app, AbortSignal.any([opts.signal, lost.signal]), { stdoutTo: opts.stdoutTo }), opts, app, results);
  } catch (e) {
    if (claim.lost && !opts.signal.aborted) throw claim.lost;
    throw e;
  } finally {
    await claim.release();
  }
}

async function runClaimed(
  plan: RunPlan,
  input: PlanInput,
  runner: Runner,
  hooks: readonly RunHook[],
  claim: HeldClaim,
  ctx: RunContext,
  opts: Pick<AttachedOptions, 'jobs' | 'slots'>,
  app: AppEnv,
  results: TaskOutcome[],
): Promise<void> {
  await syncWorkspace(plan.syncs, app);
  // Which tasks run now and the record of the latest started: what waiting runs are shown.
  const running = new Set<string>();
  const show = (runId?: string) => claim.update({ task: [...running].join(', '), ...(runId ? { runId } : {}) });
  const run = await runGraph(plan.graph, { limit: opts.jobs, signal: ctx.signal, failed: outcomeFailed, failsTaskOnly: (e) => e instanceof TaskTimedOutError, log: app.log }, async (name) => {
    const release = await opts.slots?.acquire();
    try {
      return await runOne(name);
    } finally {
      release?.();
    }
  });
  settleGraph(plan, run, ctx.signal);

  async function runOne(name: string): Promise<TaskOutcome> {
    // Planned again now that the tasks it waits for ran: what they made exists (an input of type unknown is what it is now).
    const task = planTask(input, plan.settings, name);
    running.add(name);
    show();
    createOutputDirs(task);
    let cleanup: Promise<void> | undefined;
    try {
      const outcome = await throughHooks(hooks, task, { plan, runner, run: ctx, batch: false }, async (c) => {
        if (c.run.runId) show(c.run.runId);
        if (c.cached) return outcomeOf(task.name, await c.cached(c.run));
        // Encrypted inputs decrypted (and encrypted outputs given a place) for this task only; the plaintext goes when it ends.
        const io = await openPrivateIo(task, plan, app.env, c.run.signal, app.log);
        try {
          const r = await withTimeout(io.task, c.run, (run) => runner.run(io.task, run));
          cleanup = r.cleanup;
          if (r.exitCode === 0) await io.seal();
          return outcomeOf(task.name, r);
        } finally {
          io.close();
        }
      });
      results.push(outcome);
      return outcome;
    } finally {
      // The runner's clean-up (e.g. removing the container) went on while the hooks finished (the record written).
      await cleanup;
      running.delete(name);
    }
  }
}
