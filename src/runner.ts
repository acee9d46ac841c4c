import type { Tree } from './config/tree.js';
import type { ResolvedTask } from './params/resolve.js';
import type { Logger } from './log.js';

/** What a runner's probe found: usable (with a version) or not (with why and how to fix it). Never throws. */
export type Availability =
  | { available: true; version: string; detail?: string }
  | { available: false; reason: string; remedy: string };

/** CLI flags of `run` that a runner maps into its configuration section (Python CliParser.parse_extra_arg). */
export interface RunnerFlags {
  network?: string;
  security?: string;
  gpus?: string;
  memory?: string;
  cpu?: string;
  mount?: string;
}

export interface RunContext {
  /** Effective, resolved configuration (cube + platform + overrides). */
  readonly config: Tree;
  readonly root: string;
  readonly workspace: string;
  readonly log: Logger;
  /** Aborted on Ctrl-C / SIGTERM: the runner stops what it started, then rejects with InterruptedError. */
  readonly signal: AbortSignal;
  readonly env: Record<string, string | undefined>;
  /** How this run was asked for (for runners that re-invoke the CLI elsewhere, e.g. Slurm jobs). */
  readonly invocation?: RunInvocation;
  /**
   * Settles when the task may start (its run record is written). run() prepares what it can meanwhile (e.g.
   * creates the container), awaits this just before starting the task, and on a rejection undoes what it
   * prepared and rethrows.
   */
  readonly startGate?: Promise<void>;
}

/** The user's own command-line choices, passed on unchanged to a CLI run on another machine. */
export interface RunInvocation {
  /** Absolute path of the cube file. */
  mlcubeFile: string;
  params: string[];
  taskArgs: string[];
  flags: RunnerFlags;
}

/** A job a batch runner submitted for a task (printed by `run --detach`, read by `status` / `cancel`). */
export interface SubmittedJob {
  task: string;
  jobId: string;
  stdout: string;
  stderr: string;
}

export interface ChainResult {
  /** Per task, in order; a task not run (cancelled after an earlier failure) is absent. */
  runs: ({ task: string } & TaskResult)[];
  jobs: SubmittedJob[];
}

export interface TaskResult {
  exitCode: number;
  durationMs: number;
  /** Clean-up still under way after the task ended (e.g. removing its container): awaited after recording the run. */
  cleanup?: Promise<void>;
}

export interface Runner {
  readonly name: string;
  /** The task sees host paths (no container, no /mlcube_io mounts). */
  readonly runsOnHost?: boolean;
  /**
   * Is the runtime there? Used by doctor, by run before starting, and by integration-test skips. With
   * `{ quick: true }` (run's pre-flight) a runner may skip what only the version report needs, if that is slower.
   */
  probe(opts?: { quick?: boolean }): Promise<Availability>;
  /** Prepare what tasks need (pull/build images...). Idempotent. */
  configure(ctx: RunContext): Promise<void>;
  /** Run one task; resolves with its exit code (non-zero is not thrown: the caller decides). */
  run(task: ResolvedTask, ctx: RunContext): Promise<TaskResult>;
  /**
   * Optional: run the whole ordered chain at once (a batch system sequences it, e.g. Slurm afterok). `detach`
   * submits and returns without waiting (runs is then empty). Used by `run` instead of run() when present.
   */
  runChain?(tasks: ResolvedTask[], ctx: RunContext, opts: { detach: boolean }): Promise<ChainResult>;
  /** Machine-readable facts about the configured image (e.g. {hash}); optional. */
  inspect?(ctx: RunContext, force: boolean): Promise<Tree>;
}

/** Config-time behaviour of a runner: pure, cheap to load (no runtime clients imported). */
export interface RunnerConfigSpec {
  readonly name: string;
  /** Cube section merged into `runner` (docker: `docker`, singularity: `singularity`, local: `local`). */
  readonly section: string;
  /** CLI flag -> key in the runner section; flags a runner does not list are rejected for it. */
  readonly flagKeys: Partial<Record<keyof RunnerFlags, string>>;
  /** Runner-specific merge of the cube section into cfg.runner (Python Config.merge). Mutates cfg. */
  merge(cfg: Tree, probe: ConfigProbe): void;
  /** Runner-specific checks after the final merge (Python Config.validate). */
  validate?(cfg: Tree): void;
  /** How show_config prints the runner section when it differs from the working form (Python renders some maps as strings). */
  display?(runner: Tree): Tree;
  /** Creates the runner (may import heavy clients lazily); `config` is the effective configuration when there is one (not for doctor). */
  create(config?: Tree): Promise<Runner>;
}

/** The few filesystem/PATH facts config merging may ask (injected so merging stays testable). */
export interface ConfigProbe {
  isFile(path: string): boolean;
  which(executable: string): string | undefined;
}
