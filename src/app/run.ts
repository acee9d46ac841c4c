import { buildConfig } from '../config/build.js';
import { ConfigError, RuntimeUnavailableError, UsageError } from '../errors.js';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { EffectiveConfig, PolicySource } from '../config/build.js';
import type { RunLabels } from '../provenance/labels.js';
import { policyGate } from '../policy/gate.js';
import { plannedPrivatePlaces, withPrivatePaths } from '../params/private-paths.js';
import { inspectedDigest, type RunContext, type Runner, type RunnerDescription, type RunnerFlags, type SubmittedJob } from '../runner.js';
import { RUNNERS } from '../../runners/index.js';
import { realFs } from '../params/fs-probe.js';
import type { AppEnv } from './context.js';
import { planRun, type PlanInput } from '../plan/plan.js';
import type { RunPlan } from '../plan/run-plan.js';
import type { RunHook, TaskOutcome } from '../hooks/hook.js';
import { provenanceHook } from '../hooks/provenance.js';
import { gatedResult, gatesHook } from '../hooks/gates.js';
import { reapKilledRuns } from './reap.js';
import { runAttached, type TaskSlots } from './run-attached.js';
import { runBatch, type BatchArray } from './run-batch.js';
import { runContext, throwIfAborted } from './run-steps.js';
import type { StdoutRoute } from '../task-io.js';
import { cacheSettings, type CacheSettings } from '../cache/settings.js';

export interface RunOptions {
  mlcube?: string;
  platform: string;
  tasks?: string;
  workspace?: string;
  params?: string[];
  taskArgs?: string[];
  flags?: RunnerFlags;
  signal: AbortSignal;
  /** Submit and return without waiting (batch runners only, e.g. slurm). */
  detach?: boolean;
  /** Told the jobs a batch runner submitted, as soon as they are submitted. */
  onSubmitted?: (jobs: SubmittedJob[]) => void;
  /** false (--no-wait): fail with OutputsBusyError instead of waiting while another run holds what this one writes or reads. */
  wait?: boolean;
  /** Which of mlcube's streams shows the tasks' stdout (default stdout; `run --json`: stderr). */
  stdoutTo?: StdoutRoute;
  /** Told the tasks that ran (the failed one last) when the run fails once tasks started: `run --json` prints them with the error. */
  onFailure?: (ran: TaskRun[]) => void;
  /** --jobs: at most this many tasks at once on an attached runner (a positive whole number; default: the CPUs offered). */
  jobs?: string;
  /** --policy: a run policy evaluated besides the cube's and the platform's (README "Policy gate"). */
  policy?: string;
  /** --timeout: how long each task may run, replacing the cube's `timeout` (README "Timeouts"). */
  timeout?: string;
  /** `mlcube rerun`: the image must be this one (its digest), else nothing runs (exit 2). */
  expectImageDigest?: string;
  /** `mlcube rerun`: the run this one repeats and the overrides given on top, recorded (record.rerun). */
  rerun?: { of: string; overrides: string[] };
  /** --no-cache: every task runs and every byte is hashed again; what they make still goes into the cache (README "Task cache"). */
  noCache?: boolean;
  /** --experiment, --tag and a sweep point: recorded with every task (record.experiment, tags, sweep). */
  labels?: RunLabels;
  /** A sweep's points run side by side: the bound on tasks at once they share (instead of --jobs of their own). */
  slots?: TaskSlots;
  /** A batch runner: a sweep's points as one array job after this run's tasks (src/app/sweep.ts). */
  array?: BatchArray;
}

/** What `run --json` prints per task (src/cli/json-output.ts). */
export interface TaskRun {
  task: string;
  status: 'succeeded' | 'failed';
  exitCode: number;
  durationMs: number;
  /** The release decision of a task with gates. */
  release?: 'passed' | 'failed';
  /** The run record's id (`<workspace>/.mlcube/runs/<id>/`), when recording is on. */
  runId?: string;
  /** The task cache gave its outputs: the run that made them (README "Task cache"). */
  cachedFrom?: string;
}

export interface RunExtras {
  /** Hooks after the built-in ones (the run record, the release gates): registered by tests, and by features to come. */
  hooks?: readonly RunHook[];
}

/**
 * The plan of a run (src/plan/plan.ts): the configuration built, every selected task resolved and checked, in graph
 * order. Pure but for reading the disk: `run --dry-run` stops here.
 */
export function planFor(opts: Omit<RunOptions, 'signal'>, app: AppEnv): { plan: RunPlan; input: PlanInput; spec: RunnerDescription; policies: PolicySource[]; cache: CacheSettings } {
  const built = runConfig(opts, app);
  for (const w of built.warnings) app.log.warn(w);
  app.log.debug(`configuration built at ${performance.now().toFixed(0)} ms`);
  const spec = built.runner!;
  const policyFile = opts.policy !== undefined ? resolve(app.cwd, opts.policy) : undefined;
  const policies = [...built.policies, ...(policyFile ? [{ file: policyFile, from: '--policy' }] : [])];
  const input: PlanInput = {
    config: built.config,
    unresolved: built.unresolved,
    cube: { root: built.location.root, file: built.location.file },
    explicitParams: built.explicitParams,
    platform: opts.platform,
    runner: spec,
    tasks: opts.tasks,
    invocation: {
      params: opts.params ?? [],
      taskArgs: opts.taskArgs ?? [],
      flags: opts.flags ?? {},
      ...(policyFile ? { policy: policyFile } : {}),
      ...(opts.timeout !== undefined ? { timeout: opts.timeout } : {}),
      ...(opts.noCache ? { noCache: true } : {}),
    },
    env: app.env,
    home: app.home,
    fs: realFs,
    placeOf: built.placeOf,
    ...(opts.timeout !== undefined ? { timeout: opts.timeout } : {}),
  };
  const plan = planRun(input);
  for (const line of plan.info) app.log.info(line);
  return { plan, input, spec, policies, cache: cacheSettings(built.settings, plan.workspace, opts.noCache !== true) };
}

/** The effective configuration of a run (src/config/build.ts), resolved: what planFor plans; a sweep compares its points' (src/app/sweep.ts). */
export function runConfig(opts: Omit<RunOptions, 'signal'>, app: AppEnv): EffectiveConfig {
  const scope = (opts.tasks ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return buildConfig(
    {
      mlcube: opts.mlcube,
      cwd: app.cwd,
      env: app.env,
      home: app.home,
      platform: opts.platform,
      workspace: opts.workspace,
      params: opts.params,
      taskArgs: opts.taskArgs,
      flags: opts.flags,
      resolve: true,
      overrideScope: scope.length ? scope : undefined,
    },
    RUNNERS,
  );
}

/** --jobs as a number: a positive whole number, or (not given) the CPUs this process may use. */
export function jobsLimit(value: string | undefined): number {
  if (value === undefined) return availableParallelism();
  if (!/^[1-9][0-9]{0,5}$/.test(value.trim())) {
    throw new UsageError(`--jobs=${value} is not a positive whole number`, {
      suggestions: [`Give how many tasks may run at once, e.g. --jobs=${availableParallelism()} (the CPUs here), or --jobs=1 for one at a time.`],
    });
  }
  return Number(value.trim());
}

/**
 * `mlcube run`: plan the run (nothing is created when any task is wrong), the runner's pre-flight, then the tasks in
 * graph order through the hooks (src/hooks): side by side up to --jobs on an attached runner, as one submitted graph
 * on a batch runner. A failed task cancels what waits for it; the run ends with the first failure's exit code.
 */
export async function runTasks(opts: RunOptions, app: AppEnv, extras: RunExtras = {}): Promise<TaskRun[]> {
  const jobs = jobsLimit(opts.jobs);
  const planned = planFor(opts, app);
  const { input, spec } = planned;
  let plan = planned.plan;

  throwIfAborted(opts.signal, plan.tasks[0].name);
  const runner = await spec.create(plan.settings);
  app.log.debug(`${runner.name} runner loaded at ${performance.now().toFixed(0)} ms`);
  const availability = await runner.probe({ quick: true });
  app.log.debug(`${runner.name} runner probed at ${performance.now().toFixed(0)} ms`);
  if (!availability.available) {
    throw new RuntimeUnavailableError(`the ${runner.name} runner cannot run here: ${availability.reason}`, { suggestions: [availability.remedy] });
  }
  if (opts.detach && !plan.runner.capabilities.batch) {
    throw new UsageError(`--detach needs a batch platform (e.g. slurm); the ${runner.name} runner runs its tasks attached`, { suggestions: ['Drop --detach, or use --platform=slurm.'] });
  }
  const hooks = [provenanceHook(app, { rerun: opts.rerun, cache: planned.cache, labels: opts.labels }), gatesHook(app), ...(extras.hooks ?? [])].filter((h): h is RunHook => h !== undefined);
  // Pre-flight of the runner (command lines, executables, mounts it would refuse, the image pulled or built now),
  // then of the hooks: a failure here is exit 2-4 with nothing created in the workspace.
  // Encrypted parameters as the task will be shown them: from a private place, not the ciphertext's directory.
  const shown = plan.tasks.map((t) => withPrivatePaths(t, plannedPrivatePlaces(t)));
  await runner.check?.(shown, runContext(plan, app, opts.signal, { stdoutTo: opts.stdoutTo }));
  if (opts.expectImageDigest) await checkImage(opts.expectImageDigest, runner, runContext(plan, app, opts.signal), plan.tasks[0].name);
  // The policy gate: on the whole plan, the image now there; a denial (exit 8) leaves the workspace as it was.
  plan = { ...plan, policies: await policyGate(planned.policies, plan, runner, runContext(plan, app, opts.signal), app.log) };
  for (const h of hooks) await h.beforeRun?.(plan);
  // A killed earlier run's task may still be writing into this workspace: stopped (and its record closed) first.
  await reapKilledRuns(plan.workspace, app);
  throwIfAborted(opts.signal, plan.tasks[0].name);
  const results: TaskOutcome[] = [];
  try {
    const io = { signal: opts.signal, stdoutTo: opts.stdoutTo };
    if (plan.runner.capabilities.batch)
      await runBatch(plan, input, runner, hooks, { ...io, detach: opts.detach === true, onSubmitted: opts.onSubmitted, ...(opts.array ? { array: opts.array } : {}) }, app, results);
    else await runAttached(plan, input, runner, hooks, { ...io, wait: opts.wait !== false, jobs, ...(opts.slots ? { slots: opts.slots } : {}) }, app, results);
  } catch (e) {
    await afterRun(hooks, plan, results, app, true);
    opts.onFailure?.(results.map(taskRun));
    throw e;
  }
  await afterRun(hooks, plan, results, app, false);
  return results.map(taskRun);
}

/** A task that exited 0 but failed its release gates is failed, with the gate exit code, as its record says. */
const taskRun = (r: TaskOutcome): TaskRun => ({
  task: r.task,
  ...gatedResult(r),
  durationMs: r.durationMs,
  ...(r.gates ? { release: r.gates.release } : {}),
  ...(r.runId ? { runId: r.runId } : {}),
  ...(r.cachedFrom ? { cachedFrom: r.cachedFrom } : {}),
});

/** Every hook's afterRun; after a failed run, a hook's own failure is only a warning (the run's error is what counts). */
async function afterRun(hooks: readonly RunHook[], plan: RunPlan, results: readonly TaskOutcome[], app: AppEnv, failed: boolean): Promise<void> {
  for (const h of hooks) {
    if (!h.afterRun) continue;
    if (!failed) await h.afterRun(plan, results);
    else await Promise.resolve(h.afterRun(plan, results)).catch((e) => app.log.warn(`hook "${h.name}" failed after the run: ${e instanceof Error ? e.message : String(e)}`));
  }
}

/** A rerun's image is the one its record names: the digest it has now, checked before anything is created. */
async function checkImage(expected: string, runner: Runner, ctx: RunContext, task: string): Promise<void> {
  // The digest as the record holds it (the provenance hook's reading of inspect()), so that the two compare.
  const now = inspectedDigest(runner.inspect ? await runner.inspect(ctx, false).catch(() => undefined) : undefined);
  if (now === expected) return;
  throw new ConfigError(`the image is not the one the recorded run used: ${expected} then, ${now ?? 'none found'} now`, {
    place: { task },
    suggestions: ['Bring back that image (docker load, or a tag of that digest), or run the task anew with mlcube run.'],
  });
}
