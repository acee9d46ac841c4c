import { join } from 'node:path';
import type { Tree } from '../config/tree.js';
import type { FsProbe } from '../params/fs-probe.js';
import { describeGpus } from '../params/gpus.js';
import { planMounts } from '../params/mounts.js';
import { outputPaths, resolveTask, selectTasks } from '../params/resolve.js';
import { planWorkspaceSync, type SyncCopy } from '../params/sync.js';
import type { RunnerDescription, RunnerFlags, RunnerSettings } from '../runner.js';
import { claimedPaths } from './claims.js';
import { locatingConfigErrors, type ConfigPlaceOf } from '../config/config-places.js';
import type { PlannedTask, RunPlan } from './run-plan.js';
import { parseGates } from '../gates/spec.js';
import { taskGraph } from './graph.js';
import { parseTimeout } from './timeout.js';
import { plannedPrivatePlaces, withPrivatePaths } from '../params/private-paths.js';

/** What planning is given: the effective configuration (src/config/build.ts) and the command line; the disk only through `fs`. */
export interface PlanInput {
  /** Effective, resolved configuration: -P and task overrides merged. */
  config: Tree;
  /** The same before interpolation (EffectiveConfig.unresolved). */
  unresolved: Tree;
  cube: { root: string; file: string };
  /** Parameters whose path the command line gave (EffectiveConfig.explicitParams): the only outputs that may lie outside the workspace. */
  explicitParams: ReadonlySet<string>;
  platform: string;
  /** The runner's description: its capabilities, and how its settings are parsed. */
  runner: Pick<RunnerDescription, 'name' | 'capabilities' | 'settings'>;
  /** --task (comma-separated, any order; empty: every task of the cube). */
  tasks?: string;
  invocation: { params: readonly string[]; taskArgs: readonly string[]; flags: RunnerFlags; policy?: string; timeout?: string };
  env: Record<string, string | undefined>;
  home: string;
  fs: FsProbe;
  /** Locates a runner setting's error in its file (EffectiveConfig.placeOf). */
  placeOf?: ConfigPlaceOf;
  /** --timeout: every task's limit, replacing the cube's `timeout`. */
  timeout?: string;
}

/**
 * `mlcube run`'s plan (pure: the disk is read through `input.fs` only, nothing is written): the tasks selected,
 * ordered by their graph (src/plan/graph.ts) and resolved in that order (an input is fine when a task it waits for
 * or the workspace sync makes it), the runner's settings (the GPU request...), the sync copies, the claims. Throws
 * the located error (exit 2) of the first thing that is wrong.
 */
export function planRun(input: PlanInput): RunPlan {
  const cfg = input.config;
  const workspace = workspaceOf(cfg);
  const graph = taskGraph(cfg, selectTasks(cfg, input.tasks), { workspace, env: input.env, home: input.home }, input.placeOf);
  const names = graph.order;
  // The runner's settings, parsed once (a bad GPU request or setting is a located ConfigError).
  const settings = locatingConfigErrors(input.placeOf, () => input.runner.settings(cfg));
  // A custom --workspace gets the cube's own workspace inputs it lacks (Python's sync).
  const syncs = planWorkspaceSync(cfg, names, join(input.cube.root, 'workspace'), workspace, input.fs);
  const tasks = planTasks(input, settings, names, syncs);
  const info: string[] = [];
  for (const task of tasks) {
    for (const p of task.params) {
      if (p.outside === 'explicit') info.push(`task "${task.name}" writes output "${p.name}" outside the workspace: ${p.realPath}`);
      if (p.outside === 'link') info.push(`task "${task.name}" writes output "${p.name}" outside the workspace, through a symbolic link: ${p.hostPath} is ${p.realPath}`);
    }
  }
  return {
    cube: { ...input.cube, name: typeof cfg.name === 'string' ? cfg.name : null },
    workspace,
    platform: input.platform,
    runner: { name: input.runner.name, capabilities: input.runner.capabilities },
    settings,
    config: cfg,
    unresolved: input.unresolved,
    tasks,
    graph,
    syncs,
    claims: claimedPaths(tasks, syncs, names, input.fs),
    gpus: describeGpus(settings.gpus),
    invocation: {
      mlcubeFile: input.cube.file,
      params: [...input.invocation.params],
      taskArgs: [...input.invocation.taskArgs],
      flags: { ...input.invocation.flags },
      ...(input.invocation.policy ? { policy: input.invocation.policy } : {}),
      ...(input.invocation.timeout !== undefined ? { timeout: input.invocation.timeout } : {}),
    },
    info,
    policies: [],
  };
}

/**
 * The tasks resolved in order, before any runs: an input is fine when the workspace sync or an earlier task of the
 * run makes it.
 */
export function planTasks(input: PlanInput, settings: RunnerSettings, names: readonly string[], syncs: readonly SyncCopy[]): PlannedTask[] {
  const pending = new Map<string, string>(syncs.map((c) => [c.to, 'workspace sync']));
  const tasks: PlannedTask[] = [];
  for (const name of names) {
    const task = planTask(input, settings, name, pending);
    tasks.push(task);
    for (const p of outputPaths(task)) pending.set(p, name);
  }
  return tasks;
}

/**
 * One task resolved against the disk as `input.fs` sees it: before the run (with `pending`, what earlier tasks and
 * the sync will make), or again just before it starts, once those exist (a type `unknown` input is then what the
 * earlier task made, and an input file that now exists is mounted).
 */
export function planTask(input: PlanInput, settings: RunnerSettings, name: string, pending?: ReadonlyMap<string, string>): PlannedTask {
  const cfg = input.config;
  const resolved = resolveTask(cfg, name, { workspace: workspaceOf(cfg), env: input.env, home: input.home, fs: input.fs, explicit: input.explicitParams, ...(pending ? { pending } : {}) });
  const gates = locatingConfigErrors(input.placeOf, () => parseGates(name, ((cfg.tasks as Tree)[name] as Tree | undefined)?.gates, resolved.params));
  const timeoutMs =
    input.timeout !== undefined
      ? parseTimeout(input.timeout, { flag: true })
      : parseTimeout(((cfg.tasks as Tree)[name] as Tree | undefined)?.timeout, { place: { ...input.placeOf?.(['tasks', name, 'timeout']), task: name } });
  const cache = ((cfg.tasks as Tree)[name] as Tree | undefined)?.cache !== false;
  const can = input.runner.capabilities;
  if (can.seesHostPaths || can.batch) return { ...resolved, mounts: null, containerPaths: resolved.params.map(() => null), gates, timeoutMs, cache };
  // Encrypted parameters are shown from a private place made when the task starts (src/app/private-io.ts).
  const mounts = planMounts(withPrivatePaths(resolved, plannedPrivatePlaces(resolved)), settings.mountMode);
  return { ...resolved, mounts, containerPaths: mounts.args.map((a) => a.slice(a.indexOf('=') + 1)), gates, timeoutMs, cache };
}

const workspaceOf = (cfg: Tree) => String((cfg.runtime as Tree).workspace);
