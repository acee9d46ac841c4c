import { planMounts } from '../params/mounts.js';
import type { Tree } from '../config/tree.js';
import type { AppEnv } from '../app/context.js';
import type { ResolvedTask } from '../params/resolve.js';
import type { RunContext, Runner, TaskResult } from '../runner.js';
import { InterruptedError } from '../errors.js';
import { signingKeyPath } from './keys.js';
import { RunRecorder } from './recorder.js';
import { redactSecrets } from '../config/secrets.js';

/** Env var: `off` (or 0/false) writes no run records. */
export const RECORD_ENV = 'MLCUBE_RECORD';

/**
 * The recorder of a `mlcube run`, or undefined when recording is turned off. `unresolved` (the config before
 * interpolation) tells which values came from env_args or ${oc.env:...}: the record gets them redacted.
 */
export function createRecorder(cfg: Tree, runner: Runner, ctx: RunContext, platform: string, app: AppEnv, unresolved: Tree, gpus: string): RunRecorder | undefined {
  if (['off', '0', 'false', 'no'].includes(String(app.env[RECORD_ENV] ?? '').toLowerCase())) return undefined;
  const inspect = runner.inspect?.bind(runner);
  return new RunRecorder({
    workspace: ctx.workspace,
    cubeRoot: ctx.root,
    cubeFile: ctx.invocation!.mlcubeFile,
    config: cfg,
    redact: () => redactSecrets(unresolved, cfg, app.env),
    runner: runner.name,
    runsOnHost: runner.capabilities.seesHostPaths,
    platform,
    gpus,
    image: inspect
      ? async () => {
          const t = await inspect(ctx, false);
          const hex = typeof t.hash === 'string' && /^[0-9a-f]{32,}$/.test(t.hash) ? t.hash : null;
          return { reference: typeof t.image === 'string' ? t.image : null, digest: hex ? `sha256:${hex}` : null, kind: runner.name };
        }
      : undefined,
    signingKey: signingKeyPath(app.env, app.home),
    dockerHost: runner.dockerHost,
    log: app.log,
  });
}

/** `/mlcube_io<k>/...` path of each parameter inside a container, null for the host runner. */
function containerPaths(task: ResolvedTask, runner: Runner, ctx: RunContext): (string | null)[] {
  if (runner.capabilities.seesHostPaths) return task.params.map(() => null);
  const plan = planMounts(task, ctx.settings.mountMode);
  return plan.args.map((a) => a.slice(a.indexOf('=') + 1));
}

/**
 * runner.run with a run record around it: running before, then succeeded / failed / interrupted after. `onOpen`
 * is told the record's id as soon as it has one (the workspace lock shows it to runs waiting for this one).
 */
export async function runRecorded(recorder: RunRecorder | undefined, runner: Runner, task: ResolvedTask, ctx: RunContext, onOpen?: (runId: string) => void): Promise<TaskResult & { runId?: string }> {
  if (!recorder) {
    const { cleanup, ...r } = await runner.run(task, ctx);
    await cleanup;
    return r;
  }
  const active = recorder.open(task, containerPaths(task, runner, ctx));
  onOpen?.(active.record.run_id);
  // The "running" record is written before the task starts.
  try {
    await recorder.begin(active, task);
  } catch (e) {
    // No record was begun (an input could not be digested): the task never started; nothing is left behind.
    await recorder.abandon(active);
    throw e;
  }
  ctx.log.debug(`run record begun at ${performance.now().toFixed(0)} ms`);
  let r: TaskResult;
  try {
    r = await runner.run(task, { ...ctx, taskIo: active.taskIo, runId: active.record.run_id, onTaskProcess: (p) => recorder.taskStarted(active, p) });
  } catch (e) {
    const interrupted = e instanceof InterruptedError || ctx.signal.aborted;
    await recorder
      .finish(active, task, { status: interrupted ? 'interrupted' : 'failed', exitCode: interrupted ? 130 : null, error: e instanceof Error ? e.message : String(e) })
      .catch((w) => ctx.log.warn(`could not finalise the run record ${active.dir}: ${w}`));
    throw e;
  }
  const { cleanup, usage, ...result } = r;
  // The record is written while the runner cleans up (a container's removal takes ~10-50 ms of the daemon).
  const [finished] = await Promise.allSettled([recorder.finish(active, task, { status: r.exitCode === 0 ? 'succeeded' : 'failed', exitCode: r.exitCode, usage }), cleanup]);
  if (finished.status === 'rejected') throw finished.reason;
  ctx.log.debug(`run record finished at ${performance.now().toFixed(0)} ms`);
  ctx.log.info(`run record ${active.dir}${active.record.signature ? ' (signed)' : ''}`);
  return { ...result, runId: active.record.run_id };
}
