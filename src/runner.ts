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
  /**
   * Aborted on Ctrl-C / SIGTERM / SIGHUP, possibly before run() is called: the runner starts nothing once it is
   * aborted, stops what it started, then rejects with InterruptedError.
   */
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
  /** Where the task's output and metrics go (set by the recorder); absent: output to the terminal only, no metrics file, no usage. */
  readonly taskIo?: TaskIo;
  /**
   * The run record's id (set by the recorder): put on what the runner starts (container label
   * org.mlcommons.mlcube.run-id, MLCUBE_RUN_ID in a host task's environment), so that if this mlcube is killed the
   * next one can find and stop it (src/provenance/reaper.ts).
   */
  readonly runId?: string;
  /** Host runners: told the task's own process group as soon as it started (written into the running record). */
  readonly onTaskProcess?: (p: { pgid: number; start: number | null }) => void;
}

/** Where a task's output and metrics go; made by the recorder per task run. Absent: output goes to the terminal only, no metrics file. */
export interface TaskIo {
  /** The task's stdout bytes go here (the recorder tees them to the terminal and a file). Runners never end it. */
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /**
   * Host directory (private to this task run, outside the workspace) holding the metrics file `metrics.jsonl`;
   * containers get it mounted rw at /mlcube_metrics and MLCUBE_METRICS_FILE=/mlcube_metrics/metrics.jsonl; host
   * runners get MLCUBE_METRICS_FILE=<dir>/metrics.jsonl.
   */
  metricsDir: string;
}

/** Where containers see TaskIo.metricsDir. */
export const METRICS_MOUNT = '/mlcube_metrics';
/** The metrics file's name inside TaskIo.metricsDir (and METRICS_MOUNT). */
export const METRICS_FILE_NAME = 'metrics.jsonl';

/** Resources a task used; null where not measurable, `method` says how it was measured (or why not). */
export interface TaskUsage {
  /** CPU time (user + system) of the task's processes, in milliseconds. */
  cpu_ms: number | null;
  /** Peak resident memory of the task's largest process (host runners) or of its container (docker), in bytes. */
  max_rss_bytes: number | null;
  /** How measured, e.g. "proc-children-rusage+proc-sampling", "docker-engine-stats-sampling", or why unavailable. */
  method: string;
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
  /** Resources the task used; measured when the run is recorded (ctx.taskIo set). */
  usage?: TaskUsage;
}

export interface Runner {
  readonly name: string;
  /** The task sees host paths (no container, no /mlcube_io mounts). */
  readonly runsOnHost?: boolean;
  /** Docker: the Engine endpoint the containers run on (recorded, so a killed run's containers can be found). */
  readonly dockerHost?: string;
  /**
   * Is the runtime there? Used by doctor, by run before starting, and by integration-test skips. With
   * `{ quick: true }` (run's pre-flight) a runner may skip what only the version report needs, if that is slower.
   */
  probe(opts?: { quick?: boolean }): Promise<Availability>;
  /** Prepare what tasks need (pull/build images...). Idempotent. */
  configure(ctx: RunContext): Promise<void>;
  /**
   * Optional: everything that can be checked or prepared before anything is created on disk, for all the tasks of
   * the run (command lines, executables, mounts it cannot make safe, the image: pulled or built now if missing).
   * Throws an MlcubeError (2-4).
   */
  check?(tasks: readonly ResolvedTask[], ctx: RunContext): Promise<void>;
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
