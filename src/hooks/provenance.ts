import type { KeyObject } from 'node:crypto';
import { resolve } from 'node:path';
import type { AppEnv } from '../app/context.js';
import { redactSecrets } from '../config/secrets.js';
import { InterruptedError, TaskTimedOutError, TIMED_OUT_EXIT_CODE } from '../errors.js';
import { loadPrivateKey, SIGNING_KEY_ENV, signingKeyPath } from '../provenance/keys.js';
import { RunRecorder } from '../provenance/recorder.js';
import type { RunPlan } from '../plan/run-plan.js';
import type { RunHook, TaskHookContext, TaskOutcome } from './hook.js';
import { gatedResult, gateFailure } from './gates.js';
import { inspectedDigest } from '../runner.js';

/** Env var: `off` (or 0/false/no) writes no run records (the provenance hook is not registered). */
export const RECORD_ENV = 'MLCUBE_RECORD';

export const recordingOff = (env: Record<string, string | undefined>) => ['off', '0', 'false', 'no'].includes(String(env[RECORD_ENV] ?? '').toLowerCase());

/**
 * The run record of each task (src/provenance/recorder.ts), signed when a key is configured: written "running"
 * before next() starts the task, final after it. A batch task gets none here: its job's own `mlcube run` records it
 * where it runs, with the signing key this hook passes on (jobEnv). Undefined when recording is off.
 */
export function provenanceHook(app: AppEnv, rerun?: { of: string; overrides: string[] }): RunHook | undefined {
  if (recordingOff(app.env)) return undefined;
  const keyPath = signingKeyPath(app.env, app.home);
  let key: KeyObject | undefined;
  let recorder: RunRecorder | undefined;
  const recorderFor = (plan: RunPlan, ctx: TaskHookContext) => {
    const inspect = ctx.runner.inspect?.bind(ctx.runner);
    return new RunRecorder({
      workspace: plan.workspace,
      cubeRoot: plan.cube.root,
      cubeFile: plan.cube.file,
      config: plan.config,
      policies: plan.policies,
      ...(rerun ? { rerun } : {}),
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
    jobEnv: (): Record<string, string> => (keyPath ? { [SIGNING_KEY_ENV]: resolve(app.cwd, keyPath) } : {}),
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
      let r: TaskOutcome;
      try {
        r = await next({ ...ctx, run: { ...ctx.run, taskIo: active.taskIo, runId: active.record.run_id, onTaskProcess: (p) => recorder!.taskStarted(active, p) } });
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
      ctx.run.log.debug(`run record finished at ${performance.now().toFixed(0)} ms`);
      ctx.run.log.info(`run record ${active.dir}${active.record.signature ? ' (signed)' : ''}`);
      return { ...r, runId: active.record.run_id };
    },
  };
}
