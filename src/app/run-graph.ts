import type { TaskOutcome } from '../hooks/hook.js';
import { descendants, type TaskGraph } from '../plan/graph.js';
import type { Logger } from '../log.js';

export interface GraphRunOptions {
  /** At most this many tasks at once (attached runners: --jobs; a batch runner's followers: unbounded). */
  limit: number;
  /** Ctrl-C: nothing more is started; the running tasks see it themselves. */
  signal: AbortSignal;
  /** A task outcome that fails the run (its exit code, its release gates). */
  failed: (o: TaskOutcome) => boolean;
  /** An error a task's run threw that fails that task alone (it timed out): what waits for it is cancelled, the rest goes on. */
  failsTaskOnly?: (e: unknown) => boolean;
  /** Told the tasks that will not start because a task they wait for failed (a batch runner cancels their jobs). */
  onCancel?: (tasks: string[]) => void | Promise<void>;
  log: Logger;
}

export interface GraphRun {
  /** Every outcome, in the order the tasks ended. */
  ended: TaskOutcome[];
  /** The first failure as it happened: a task's own outcome, or what its run threw (a runner error, Ctrl-C). */
  failure?: { task: string; outcome: TaskOutcome } | { task: string; error: unknown };
  /** The tasks that did not start (cancelled by a failure, or left when the run stopped), in graph order. */
  notRun: string[];
}

type State = 'waiting' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/**
 * Runs the tasks of `graph`, each once all its parents succeeded, at most `limit` at a time, ready tasks in graph
 * order. A task that fails cancels what waits for it (directly or not) and lets the other branches finish; one whose
 * run throws starts nothing more, and so does Ctrl-C. Resolves once nothing runs.
 */
export function runGraph(graph: TaskGraph, opts: GraphRunOptions, start: (task: string) => Promise<TaskOutcome>): Promise<GraphRun> {
  const state = new Map<string, State>(graph.order.map((t) => [t, 'waiting']));
  const ended: TaskOutcome[] = [];
  let failure: GraphRun['failure'];
  let halted = false;
  let running = 0;
  return new Promise((resolve) => {
    const fail = (task: string, why: string) => {
      const below = descendants(graph, task);
      const cancelled = graph.order.filter((t) => below.has(t) && state.get(t) === 'waiting');
      for (const t of cancelled) state.set(t, 'cancelled');
      const others = graph.order.filter((t) => state.get(t) === 'running');
      if (cancelled.length || others.length) {
        opts.log.warn(
          `task "${task}" ${why}${cancelled.length ? `: not starting ${cancelled.map((t) => `"${t}"`).join(', ')}, which wait${cancelled.length === 1 ? 's' : ''} for it` : ''}${others.length ? `; letting ${others.map((t) => `"${t}"`).join(', ')} finish` : ''}`,
        );
      }
      if (cancelled.length && opts.onCancel) return Promise.resolve(opts.onCancel(cancelled)).catch(() => undefined);
      return Promise.resolve();
    };
    const pump = () => {
      for (const t of graph.order) {
        if (halted || opts.signal.aborted || running >= opts.limit) break;
        if (state.get(t) !== 'waiting' || !graph.parents[t].every((p) => state.get(p) === 'succeeded')) continue;
        state.set(t, 'running');
        running++;
        start(t)
          .then(
            (o) => {
              ended.push(o);
              if (!opts.failed(o)) {
                opts.log.info(o.cachedFrom ? `task "${t}" cached: the outputs of run ${o.cachedFrom}` : `task "${t}" succeeded in ${(o.durationMs / 1000).toFixed(1)} s`);
                return void state.set(t, 'succeeded');
              }
              state.set(t, 'failed');
              failure ??= { task: t, outcome: o };
              return fail(t, o.exitCode !== 0 ? `failed with exit code ${o.exitCode}` : 'failed its release gates');
            },
            (e: unknown) => {
              state.set(t, 'failed');
              failure ??= { task: t, error: e };
              if (opts.failsTaskOnly?.(e)) return fail(t, 'timed out');
              halted = true;
              return fail(t, 'stopped');
            },
          )
          .finally(() => {
            running--;
            pump();
          });
      }
      if (running === 0) resolve({ ended, ...(failure ? { failure } : {}), notRun: graph.order.filter((t) => ['waiting', 'cancelled'].includes(state.get(t)!)) });
    };
    pump();
  });
}
