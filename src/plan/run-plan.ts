import type { Tree } from '../config/tree.js';
import type { MountPlan } from '../params/mounts.js';
import type { ResolvedTask } from '../params/resolve.js';
import type { SyncCopy } from '../params/sync.js';
import type { RunInvocation, RunnerCapabilities, RunnerSettings } from '../runner.js';
import type { ClaimedPath } from '../workspace-lock.js';
import type { GateSpec } from '../gates/spec.js';
import type { TaskGraph } from './graph.js';
import type { PolicyDecision } from '../policy/decide.js';

/** The runner, as its description says it (src/runner.ts RunnerDescription). */
export interface PlanRunner {
  name: string;
  /** seesHostPaths: no container, no /mlcube_io mounts; batch: each job's own `mlcube run` plans and records its task on its node. */
  capabilities: RunnerCapabilities;
}

/** One selected task, resolved and checked: its parameters' host paths and, in a container, where the task sees them. */
export interface PlannedTask extends ResolvedTask {
  /** The /mlcube_io<k> mounts a container runner gives the task; null on the host and for a batch runner (its job plans its own). */
  mounts: MountPlan | null;
  /** Per parameter (in `params` order): its path inside the container, null where the task sees host paths. */
  containerPaths: (string | null)[];
  /** Its release gates (`tasks.<task>.gates`), checked against its parameters; evaluated after it succeeds (src/hooks/gates.ts). */
  gates: GateSpec[];
  /** How long it may run (`tasks.<task>.timeout`, or --timeout for every task), in ms; null: no limit. */
  timeoutMs: number | null;
  /** `tasks.<task>.cache` (default true): false for a task that must always run, e.g. a download of "latest" (README "Task cache"). */
  cache: boolean;
}

/**
 * Everything `mlcube run` will do, decided before anything is created on disk (src/plan/plan.ts): what runs, where,
 * with which paths, what it claims in the workspace and what it copies in first.
 */
export interface RunPlan {
  cube: { root: string; file: string; name: string | null };
  workspace: string;
  platform: string;
  runner: PlanRunner;
  /** The runner's section parsed once by its description: what the runner reads (GPU request, mount mode, image...). */
  settings: RunnerSettings;
  /** The effective configuration (cube + platform + overrides), resolved: what show_config prints and the record keeps. */
  config: Tree;
  /** The same tree before interpolation: tells which values came from env_args or ${oc.env:...} (records redact them). */
  unresolved: Tree;
  /** The selected tasks, in graph order, as resolved before any of them ran (an input an earlier task makes is `missing`). */
  tasks: PlannedTask[];
  /** What orders them: a task starts once its parents succeeded; tasks with no path between them may run side by side. */
  graph: TaskGraph;
  /** Inputs copied from the cube's own workspace into a custom --workspace before the first task (Python's sync). */
  syncs: SyncCopy[];
  /** What the run claims in the workspace (src/workspace-lock.ts): it writes outputs and syncs, it reads inputs. */
  claims: { writes: ClaimedPath[]; reads: ClaimedPath[] };
  /** The GPUs asked for (settings.gpus), as the run record says them. */
  gpus: string;
  /** How the run was asked for (passed on to a batch job's own `mlcube run`). */
  invocation: RunInvocation;
  /** Lines for the user (info level): e.g. an output written outside the workspace. */
  info: string[];
  /** The run policies' decisions (all allow: a denial stops the run before it starts), set by the policy gate (src/policy/gate.ts); [] without policies. */
  policies: PolicyDecision[];
}
