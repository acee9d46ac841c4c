import type { KeyObject } from 'node:crypto';
import { resolve } from 'node:path';
import type { AppEnv } from '../app/context.js';
import { redactSecrets } from '../config/secrets.js';
import { InterruptedError, TaskTimedOutError, TIMED_OUT_EXIT_CODE } from '../errors.js';
import { loadPrivateKey, SIGNING_KEY_ENV, signingKeyPath } from '../provenance/keys.js';
import { RunRecorder, type ActiveRun } from '../provenance/recorder.js';
import type { PlannedTask, RunPlan } from '../plan/run-plan.js';
import type { RunHook, TaskHookContext, TaskOutcome } from './hook.js';
import { gatedResult, gateFailure } from './gates.js';
import { inspectedDigest } from '../runner.js';
import type { CacheSettings } from '../cache/settings.js';
import { sharedOutputPaths, TaskCache, type Decision } from '../cache/task-cache.js';
import { RUN_LABELS_ENV, runLabelsFromEnv, type RunLabels } from '../provenance/labels.js';

/** Env var: `off` (or 0/false/no) writes no run records (the provenance hook is not registered). */
export const RECORD_ENV = 'MLCUBE_RECORD';

export const recordingOff = (env: Record<string, string | undefined>) => ['off', '0', 'false', 'no'].includes(String(env[RECORD_ENV] ?? '').toLowerCase());

/**
 * The run record of each task (src/provenance/recorder.ts), signed when a key is configured: written "running"
 * before next() starts the task, final after it. A batch task gets none here: its job's own `mlcube run` records it
 * where it runs, with the signing key this hook passes on (jobEnv). Undefined when recording is off.
 */
export function provenanceHook(app: AppEnv, opts: { rerun?: { of: string; overrides: string[] }; cache?: CacheSettings; labels?: RunLabels } = {}): RunHook | undefined {
  if (recordingOff(app.env)) return undefined;
  const { rerun } = opts;
  // A batch job's own mlcube is given the labels by its job script.
  const labels = opts.labels ?? runLabelsFromEnv(app.env);
  const keyPath = signingKeyPath(app.env, app.home);
  let key: KeyObject | undefined;
  let recorder: RunRecorder | undefined;
  // The task cache works from the records' digests (README "Task cache"): one per run, made with the first task.
  let cache: TaskCache | undefined;
  const cacheFor = (plan: RunPlan) =>
    opts.cache ? (cache ??= new TaskCache(opts.cache, plan.workspace, sharedOutputPaths(plan.config, { workspace: plan.workspace, env: app.env, home: app.home }), app.log)) : undefined;
  const recorderFor = (plan: RunPlan, ctx: TaskHookContext) => {
    const inspect = ctx.runner.inspect?.bind(ctx.runner);
    return new RunRecorder({
      workspace: plan.workspace,
      cubeRoot: plan.cube.root,
      cubeFile: plan.cube.file,
      config: plan.config,
      policies: plan.policies,
      ...(rerun ? { rerun } : {}),
      ...(labels ? { labels } : {}),
      // `unresolved` tells which values came from env_args or ${oc.env:...}: the record gets them redacted.
      redact: () => redactSecrets(plan.unresolved, plan.config, app.env),
      runner: plan.runner.name,
      runsOnHost: plan.runner.capabilities.seesHostPaths,
      platform: plan.platform,
      gpus: plan.gpus,
      image: inspect
        ? async () => {
            const t = await inspect(ctx.run, false);
            return { reference: typeof t.image === 'string' ? t.image : null, digest: inspectedDigest(t), kind: plan.runner.name };
          }
        : undefined,
      signingKey: key,
      dockerHost: ctx.runner.dockerHost,
      stdoutTo: ctx.run.stdoutTo,
      memo: cacheFor(plan)?.memo,
      log: app.log,
    });
  };
  return {
    name: 'provenance',
    beforeRun() {
      // An unreadable key fails the run (exit 2) before anything is written, and before a batch chain is submitted.
      if (keyPath) key = loadPrivateKey(keyPath);
    },
    // The job runs in another directory, maybe on another machine: the key's absolute path, not how it was spelt here.
    jobEnv: (): Record<string, string> => ({ ...(keyPath ? { [SIGNING_KEY_ENV]: resolve(app.cwd, keyPath) } : {}), ...(labels ? { [RUN_LABELS_ENV]: JSON.stringify(labels) } : {}) }),
    afterRun() {
      cache?.save();
    },
    async aroundTask(task, ctx, next): Promise<TaskOutcome> {
      if (ctx.batch) return next();
      recorder ??= recorderFor(ctx.plan, ctx);
      const active = recorder.open(task, task.containerPaths);
      try {
        await recorder.begin(active, task);
      } catch (e) {
        // No record was begun (an input could not be digested): the task is not started; nothing is left behind.
        await recorder.abandon(active);
        throw e;
      }
      ctx.run.log.debug(`run record begun at ${performance.now().toFixed(0)} ms`);
      const tc = cacheFor(ctx.plan);
      const decision = tc ? await decideCache(tc, recorder, active, task, ctx) : undefined;
      const hit = decision?.decision === 'hit' ? decision : undefined;
      let r: TaskOutcome;
      try {
        r = await next({
          ...ctx,
          run: { ...ctx.run, taskIo: active.taskIo, runId: active.record.run_id, onTaskProcess: (p) => recorder!.taskStarted(active, p) },
          ...(hit
            ? {
                cached: async (run) => {
                  const started = Date.now();
                  active.record.cache!.restored = await tc!.restore(hit, active.record.run_id, run.taskIo!.metricsDir);
                  return { exitCode: 0, durationMs: Date.now() - started };
                },
              }
            : {}),
        });
      } catch (e) {
        const timedOut = e instanceof TaskTimedOutError;
        const interrupted = !timedOut && (e instanceof InterruptedError || ctx.run.signal.aborted);
        await recorder
          .finish(active, task, {
            status: timedOut ? 'timed_out' : interrupted ? 'interrupted' : 'failed',
            exitCode: timedOut ? TIMED_OUT_EXIT_CODE : interrupted ? 130 : null,
            error: e instanceof Error ? e.message : String(e),
          })
          .catch((w) => ctx.run.log.warn(`could not finalise the run record ${active.dir}: ${w}`));
        throw e;
      }
      // A failed release decision fails the run (exit 7, src/app/run-steps.ts): the record says so, signed all the same.
      const gated = r.exitCode === 0 && r.gates?.release === 'failed' ? gateFailure(task.name, r.gates) : undefined;
      await recorder.finish(active, task, {
        ...gatedResult(r),
        usage: r.usage,
        ...(r.gates ? { gates: r.gates } : {}),
        ...(gated ? { error: gated.message } : {}),
      });
      if (tc && !hit && r.exitCode === 0) await tc.remember(task, active.record, active.manifests);
      ctx.run.log.debug(`run record finished at ${performance.now().toFixed(0)} ms`);
      ctx.run.log.info(`run record ${active.dir}${active.record.signature ? ' (signed)' : ''}`);
      return { ...r, runId: active.record.run_id, ...(hit ? { cachedFrom: hit.of.run_id } : {}) };
    },
  };
}

/** The task cache's decision for a task whose record was begun, kept in the record and said at info level. */
async function decideCache(tc: TaskCache, recorder: RunRecorder, active: ActiveRun, task: PlannedTask, ctx: TaskHookContext): Promise<Decision | undefined> {
  const k = await recorder.cacheKey(active);
  if (!k) {
    ctx.run.log.info(`task "${task.name}": runs (not cached): the ${ctx.plan.runner.name} runner cannot tell the image's digest, so its code is unknown`);
    return undefined;
  }
  const d = await tc.decide(task, k, active.record);
  active.record.cache = { ...k, decision: d.decision, reason: d.reason, ...(d.decision === 'hit' ? { of: d.of.run_id } : {}) };
  ctx.run.log.info(`task "${task.name}": ${d.decision === 'hit' ? 'cached' : d.decision === 'miss' ? 'runs' : 'runs (not cached)'}: ${d.reason}`);
  ctx.run.log.debug(`cache decided at ${performance.now().toFixed(0)} ms`);
  return d;
}
