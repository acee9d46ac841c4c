import { mkdirSync } from 'node:fs';
import { cp } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { planWorkspaceSync, type SyncCopy } from '../params/sync.js';
import { buildConfig } from '../config/build.js';
import { InterruptedError, RuntimeUnavailableError, TaskFailedError, UsageError } from '../errors.js';
import type { Tree } from '../config/tree.js';
import { describeGpus } from '../params/gpus.js';
import type { Runner, RunnerFlags, RunnerSettings, RunContext, SubmittedJob } from '../runner.js';
import { RUNNERS } from '../../runners/index.js';
import { outputPaths, resolveTask, selectTasks, type ResolveContext, type ResolvedTask } from '../params/resolve.js';
import { realFs } from '../params/fs-probe.js';
import type { AppEnv } from './context.js';
import { createRecorder, runRecorded } from '../provenance/hook.js';
import { canonicalPath, claimPaths, type ClaimedPath, type HeldClaim } from '../workspace-lock.js';
import { reapKilledRuns } from './reap.js';

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
}

export interface TaskRun {
  task: string;
  exitCode: number;
  durationMs: number;
  /** The run record's id (`<workspace>/.mlcube/runs/<id>/`), when recording is on. */
  runId?: string;
}

/**
 * `mlcube run`: build the config, check every selected task's parameters up front (nothing is created when
 * any is wrong), then run the tasks in order, stopping at the first failure with the task's exit code.
 */
export async function runTasks(opts: RunOptions, app: AppEnv): Promise<TaskRun[]> {
  const scope = (opts.tasks ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const built = buildConfig(
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
  for (const w of built.warnings) app.log.warn(w);
  app.log.debug(`configuration built at ${performance.now().toFixed(0)} ms`);
  const cfg = built.config;
  const tasks = selectTasks(cfg, opts.tasks);
  const workspace = String((cfg.runtime as Tree).workspace);
  const resolveCtx = { workspace, env: app.env, home: app.home, fs: realFs, explicit: built.explicitParams };

  // The runner's settings, parsed once (a bad GPU request or setting fails here, before anything is created).
  const settings = built.runner!.settings(cfg);
  const gpus = describeGpus(settings.gpus);
  // A custom --workspace gets the cube's own workspace inputs it lacks (Python's sync), copied after the checks.
  const syncs = planWorkspaceSync(cfg, tasks, join(built.location.root, 'workspace'), workspace, realFs);
  // Pre-flight: inputs must exist, be synced, or be outputs of an earlier task of this run.
  const pending = new Map<string, string>(syncs.map((c) => [c.to, 'workspace sync']));
  const planned: ResolvedTask[] = [];
  for (const t of tasks) {
    const task = resolveTask(cfg, t, { ...resolveCtx, pending });
    planned.push(task);
    for (const p of outputPaths(task)) pending.set(p, t);
  }
  for (const task of planned) {
    for (const p of task.params) {
      if (p.outside === 'explicit') app.log.info(`task "${task.name}" writes output "${p.name}" outside the workspace: ${p.realPath}`);
      if (p.outside === 'link') app.log.info(`task "${task.name}" writes output "${p.name}" outside the workspace, through a symbolic link: ${p.hostPath} is ${p.realPath}`);
    }
  }

  throwIfAborted(opts.signal, tasks[0]);
  const runner = await built.runner!.create(settings);
  app.log.debug(`${runner.name} runner loaded at ${performance.now().toFixed(0)} ms`);
  const availability = await runner.probe({ quick: true });
  app.log.debug(`${runner.name} runner probed at ${performance.now().toFixed(0)} ms`);
  if (!availability.available) {
    throw new RuntimeUnavailableError(`the ${runner.name} runner cannot run here: ${availability.reason}`, { suggestions: [availability.remedy] });
  }
  if (opts.detach && !runner.capabilities.batch) {
    throw new UsageError(`--detach needs a batch platform (e.g. slurm); the ${runner.name} runner runs its tasks attached`, { suggestions: ['Drop --detach, or use --platform=slurm.'] });
  }
  // Pre-flight of the runner (command lines, executables, mounts it would refuse, the image pulled or built now):
  // a failure here is exit 2-4 with nothing created in the workspace.
  await runner.check?.(planned, makeContext(built, cfg, settings, workspace, app, opts, opts.signal));
  // A killed earlier run's task may still be writing into this workspace: stopped (and its record closed) first.
  await reapKilledRuns(workspace, app);
  throwIfAborted(opts.signal, tasks[0]);
  if (runner.runChain) {
    // A batch engine sequences the whole chain itself (e.g. Slurm afterok); outputs exist before submission. Not
    // locked here: each job's own `mlcube run` claims its task's paths (holding them here would deadlock it).
    await syncWorkspace(syncs, app);
    const resolved = tasks.map((t) => resolveTask(cfg, t, { ...resolveCtx, pending }));
    throwIfAborted(opts.signal, tasks[0]);
    resolved.forEach(createOutputDirs);
    const chain = await runner.runChain(resolved, makeContext(built, cfg, settings, workspace, app, opts, opts.signal), { detach: opts.detach === true });
    opts.onSubmitted?.(chain.jobs);
    const results: TaskRun[] = [];
    for (const r of chain.runs) {
      results.push({ task: r.task, exitCode: r.exitCode, durationMs: r.durationMs });
      if (r.exitCode !== 0) throw taskFailed(r.task, r.exitCode, runner.name, tasks);
      app.log.info(`task "${r.task}" succeeded in ${(r.durationMs / 1000).toFixed(1)} s`);
    }
    return results;
  }
  // The workspace lock (src/workspace-lock.ts): after every check (a run that fails them changes nothing), before
  // anything is written; a claim lost while running stops the task like Ctrl-C, then fails the run (exit 75).
  const lost = new AbortController();
  const claim = await claimPaths({
    workspace,
    tasks,
    ...claimedPaths(planned, syncs, tasks),
    wait: opts.wait !== false,
    signal: opts.signal,
    log: app.log,
    onLost: (e) => {
      app.log.error(`the workspace lock was lost: stopping the task (${e.code}, below)`);
      lost.abort(e);
    },
  });
  app.log.debug(`workspace lock held at ${performance.now().toFixed(0)} ms`);
  try {
    return await runClaimed(claim, runner, makeContext(built, cfg, settings, workspace, app, opts, AbortSignal.any([opts.signal, lost.signal])), syncs, tasks, resolveCtx, app, opts.platform, built.unresolved, gpus);
  } catch (e) {
    if (claim.lost && !opts.signal.aborted) throw claim.lost;
    throw e;
  } finally {
    await claim.release();
  }
}

type Built = ReturnType<typeof buildConfig>;

function makeContext(built: Built, cfg: Tree, settings: RunnerSettings, workspace: string, app: AppEnv, opts: RunOptions, signal: AbortSignal): RunContext {
  return {
    config: cfg,
    settings,
    root: built.location.root,
    workspace,
    log: app.log,
    signal,
    env: app.env,
    invocation: { mlcubeFile: built.location.file, params: opts.params ?? [], taskArgs: opts.taskArgs ?? [], flags: opts.flags ?? {} },
  };
}

/** The tasks run in order while the claim is held. */
async function runClaimed(
  claim: HeldClaim,
  runner: Runner,
  ctx: RunContext,
  syncs: SyncCopy[],
  tasks: string[],
  resolveCtx: ResolveContext,
  app: AppEnv,
  platform: string,
  unresolved: Tree,
  /** The GPUs asked for, as the record says them (read where the runner keeps --gpus). */
  gpus: string,
): Promise<TaskRun[]> {
  await syncWorkspace(syncs, app);
  // Run records (src/provenance): a batch chain (runChain) records nothing here; its jobs record their tasks.
  const recorder = createRecorder(ctx.config, runner, ctx, platform, app, unresolved, gpus);
  const results: TaskRun[] = [];
  for (const t of tasks) {
    const task = resolveTask(ctx.config, t, resolveCtx);
    claim.update({ task: t });
    throwIfAborted(ctx.signal, t);
    createOutputDirs(task);
    const r = await runRecorded(recorder, runner, task, ctx, (runId) => claim.update({ task: t, runId }));
    results.push({ task: t, exitCode: r.exitCode, durationMs: r.durationMs, ...(r.runId ? { runId: r.runId } : {}) });
    if (r.exitCode !== 0) throw taskFailed(t, r.exitCode, runner.name, tasks);
    app.log.info(`task "${t}" succeeded in ${(r.durationMs / 1000).toFixed(1)} s`);
  }
  return results;
}

/**
 * What a run claims: it writes its outputs and the inputs it syncs into the workspace; it reads its inputs (a run
 * writing them meanwhile would make the recorded input digest and lineage lie about what the task read).
 */
function claimedPaths(planned: readonly ResolvedTask[], syncs: readonly SyncCopy[], tasks: readonly string[]): { writes: ClaimedPath[]; reads: ClaimedPath[] } {
  const writes: ClaimedPath[] = [];
  const reads: ClaimedPath[] = [];
  for (const t of planned) {
    for (const p of t.params) (p.io === 'output' ? writes : reads).push({ path: canonicalPath(p.hostPath), io: p.io === 'output' ? 'output' : 'input', task: t.name, parameter: p.name });
  }
  for (const c of syncs) {
    const reader = planned.flatMap((t) => t.params.filter((p) => p.io !== 'output' && p.hostPath.replace(/[\\/]+$/, '') === c.to).map((p) => ({ task: t.name, parameter: p.name })))[0];
    writes.push({ path: canonicalPath(c.to), io: 'sync', task: reader?.task ?? tasks[0], parameter: reader?.parameter ?? c.to });
  }
  return { writes, reads };
}

/**
 * Python's workspace sync, once the claim is held: a copy another run made meanwhile is not made again. Async:
 * a large copy must not stall the event loop that keeps the locks fresh.
 */
async function syncWorkspace(syncs: readonly SyncCopy[], app: AppEnv): Promise<void> {
  for (const c of syncs) {
    if (realFs.kind(c.to) !== 'missing') continue;
    app.log.info(`copying ${c.from} to ${c.to} (input missing in the workspace)`);
    await cp(c.from, c.to, { recursive: true, errorOnExist: true, force: false });
  }
}

/** A Ctrl-C that came before `task` started (even before the run had begun): nothing more is started. */
function throwIfAborted(signal: AbortSignal, task: string): void {
  if (!signal.aborted) return;
  throw new InterruptedError(`interrupted (${String(signal.reason)}) before the task started: it was not started`, { place: { task } });
}

function taskFailed(t: string, exitCode: number, runner: string, tasks: string[]): TaskFailedError {
  const rest = tasks.slice(tasks.indexOf(t) + 1);
  return new TaskFailedError(`task failed with exit code ${exitCode} on the ${runner} runner${rest.length ? `; not run: ${rest.join(', ')}` : ''}`, exitCode, {
    place: { task: t },
    suggestions: ['Read the task output above; re-run just this task with --task=' + t + ' once fixed.'],
  });
}

/** Output directories (and parents of output files) exist before the task starts, owned by the invoking user. */
function createOutputDirs(task: ResolvedTask): void {
  for (const p of task.params) {
    if (p.io !== 'output') continue;
    mkdirSync(p.type === 'directory' ? p.hostPath : dirname(p.hostPath), { recursive: true });
  }
}
