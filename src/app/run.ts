import { cpSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { planWorkspaceSync } from '../params/sync.js';
import { buildConfig } from '../config/build.js';
import { InterruptedError, RuntimeUnavailableError, TaskFailedError, UsageError } from '../errors.js';
import { isTree, type Tree } from '../config/tree.js';
import { gpuRequest } from '../params/gpus.js';
import type { RunnerFlags, RunContext, SubmittedJob } from '../runner.js';
import { findRunner } from '../../runners/index.js';
import { outputPaths, resolveTask, selectTasks, type ResolvedTask } from '../params/resolve.js';
import { realFs } from '../params/fs-probe.js';
import type { AppEnv } from './context.js';
import { createRecorder, runRecorded } from '../provenance/hook.js';
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
    findRunner,
  );
  for (const w of built.warnings) app.log.warn(w);
  app.log.debug(`configuration built at ${performance.now().toFixed(0)} ms`);
  const cfg = built.config;
  const tasks = selectTasks(cfg, opts.tasks);
  const workspace = String((cfg.runtime as Tree).workspace);
  const resolveCtx = { workspace, env: app.env, home: app.home, fs: realFs };

  // Pre-flight: a bad GPU request fails before anything is created.
  const runnerCfg = cfg.runner as Tree;
  gpuRequest((runnerCfg['--gpus'] ?? null) as string | null, isTree(cfg.platform) ? cfg.platform.accelerator_count : undefined);
  // A custom --workspace gets the cube's own workspace inputs it lacks (Python's sync), copied after the checks.
  const syncs = planWorkspaceSync(cfg, tasks, join(built.location.root, 'workspace'), workspace, realFs);
  // Pre-flight: inputs must exist, be synced, or be outputs of an earlier task of this run.
  const pending = new Map<string, string>(syncs.map((c) => [c.to, 'workspace sync']));
  for (const t of tasks) {
    const planned = resolveTask(cfg, t, { ...resolveCtx, pending });
    for (const p of outputPaths(planned)) pending.set(p, t);
  }

  throwIfAborted(opts.signal, tasks[0]);
  const runner = await built.runner!.create(built.config);
  app.log.debug(`${runner.name} runner loaded at ${performance.now().toFixed(0)} ms`);
  const availability = await runner.probe({ quick: true });
  app.log.debug(`${runner.name} runner probed at ${performance.now().toFixed(0)} ms`);
  if (!availability.available) {
    throw new RuntimeUnavailableError(`the ${runner.name} runner cannot run here: ${availability.reason}`, { suggestions: [availability.remedy] });
  }
  if (opts.detach && !runner.runChain) {
    throw new UsageError(`--detach needs a batch platform (e.g. slurm); the ${runner.name} runner runs its tasks attached`, { suggestions: ['Drop --detach, or use --platform=slurm.'] });
  }
  // A killed earlier run's task may still be writing into this workspace: stopped (and its record closed) first.
  await reapKilledRuns(workspace, app);
  throwIfAborted(opts.signal, tasks[0]);
  for (const c of syncs) {
    app.log.info(`copying ${c.from} to ${c.to} (input missing in the workspace)`);
    cpSync(c.from, c.to, { recursive: true, errorOnExist: true, force: false });
  }
  const ctx: RunContext = {
    config: cfg,
    root: built.location.root,
    workspace,
    log: app.log,
    signal: opts.signal,
    env: app.env,
    invocation: { mlcubeFile: built.location.file, params: opts.params ?? [], taskArgs: opts.taskArgs ?? [], flags: opts.flags ?? {} },
  };
  const results: TaskRun[] = [];
  if (runner.runChain) {
    // A batch engine sequences the whole chain itself (e.g. Slurm afterok); outputs exist before submission.
    const resolved = tasks.map((t) => resolveTask(cfg, t, { ...resolveCtx, pending }));
    throwIfAborted(opts.signal, tasks[0]);
    resolved.forEach(createOutputDirs);
    const chain = await runner.runChain(resolved, ctx, { detach: opts.detach === true });
    opts.onSubmitted?.(chain.jobs);
    for (const r of chain.runs) {
      results.push({ task: r.task, exitCode: r.exitCode, durationMs: r.durationMs });
      if (r.exitCode !== 0) throw taskFailed(r.task, r.exitCode, runner.name, tasks);
      app.log.info(`task "${r.task}" succeeded in ${(r.durationMs / 1000).toFixed(1)} s`);
    }
    return results;
  }
  // Run records (src/provenance): the chain runners above record nothing yet.
  const recorder = createRecorder(cfg, runner, ctx, opts.platform, app, built.unresolved);
  for (const t of tasks) {
    const task = resolveTask(cfg, t, resolveCtx);
    throwIfAborted(opts.signal, t);
    createOutputDirs(task);
    const r = await runRecorded(recorder, runner, task, ctx);
    results.push({ task: t, exitCode: r.exitCode, durationMs: r.durationMs, ...(r.runId ? { runId: r.runId } : {}) });
    if (r.exitCode !== 0) throw taskFailed(t, r.exitCode, runner.name, tasks);
    app.log.info(`task "${t}" succeeded in ${(r.durationMs / 1000).toFixed(1)} s`);
  }
  return results;
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
