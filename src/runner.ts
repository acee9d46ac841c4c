import type { Tree } from './config/tree.js';
import type { ResolvedTask } from './params/resolve.js';
import type { GpuRequest } from './params/gpus.js';
import type { Logger } from './log.js';
import type { StdoutRoute } from './task-io.js';

/** What a runner's probe found: usable (with a version) or not (with why and how to fix it). Never throws. */
export type Availability = { available: true; version: string; detail?: string } | { available: false; reason: string; remedy: string };

/** CLI flags of `run` that a runner maps into its configuration section (Python CliParser.parse_extra_arg). */
export interface RunnerFlags {
  network?: string;
  security?: string;
  gpus?: string;
  memory?: string;
  cpu?: string;
  mount?: string;
}

/** --mount=ro|rw: the mount option of every input. */
export type MountMode = 'ro' | 'rw';

/**
 * What every runner's settings hold, parsed the same way for all (src/config/runner-settings.ts): each runner's
 * settings type extends it with its own.
 */
export interface RunnerSettings {
  /** The GPUs asked for: --gpus (kept under the runner's flag key), else platform.accelerator_count. */
  readonly gpus: GpuRequest;
  /** --gpus was given and asks for none (--gpus=0, --gpus=): the task's GPUs are hidden, not left as the host has them. */
  readonly hideGpus: boolean;
  /** --mount=ro|rw; undefined: each parameter's own option. */
  readonly mountMode: MountMode | undefined;
}

export interface RunContext<S extends RunnerSettings = RunnerSettings> {
  /** Effective, resolved configuration (cube + platform + overrides): what show_config prints and the run record keeps. Runners read `settings`. */
  readonly config: Tree;
  /** The runner's section of `config`, parsed once by the runner's description (RunnerDescription.settings). */
  readonly settings: S;
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
  /** Where the task's output and metrics go (set by the recorder); absent: output to the terminal only, no metrics file, no usage. */
  readonly taskIo?: TaskIo;
  /** Which of mlcube's streams shows the task's stdout (default: stdout; `run --json`: stderr, stdout is the summary's). */
  readonly stdoutTo?: StdoutRoute;
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
/** Env var naming the JSON-lines file a task appends its metric rows to. */
export const METRICS_ENV = 'MLCUBE_METRICS_FILE';

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
  /** --policy, absolute: a batch job's own `mlcube run` evaluates it again where it runs. */
  policy?: string;
  /** --timeout as given: a batch job's own `mlcube run` enforces it where it runs. */
  timeout?: string;
  /** --no-cache: a batch job's own `mlcube run` runs its task whatever its cache holds. */
  noCache?: boolean;
  /** Environment a batch job's own `mlcube run` must get (what the run's hooks need there, e.g. the signing key). */
  env?: Readonly<Record<string, string>>;
}

/** A task as a runner would start it (Runner.preview). */
export interface TaskPreview {
  argv: string[];
  /** Variable names only; `host_env`: the host's environment is passed on besides (the host runners). */
  env: string[];
  host_env: boolean;
  /** `host:container[:opts]`. */
  mounts: string[];
}

/** A job a batch runner submitted for a task (printed by `run --detach`, read by `status` / `cancel`). */
export interface SubmittedJob {
  task: string;
  jobId: string;
  stdout: string;
  stderr: string;
}

/** A task as a batch runner submits it: resolved, with how long it may run (the job's time limit; null: none). */
export type BatchTask = ResolvedTask & { timeoutMs?: number | null };

/** A task graph a batch runner submitted: one job per task, each waiting for its parents' jobs in the batch system. */
export interface SubmittedGraph {
  jobs: SubmittedJob[];
  /**
   * Follows the job of task `i` (tasks as submitted) until it ends, its output streamed, and resolves with its exit
   * code. Ctrl-C (the context's signal) cancels the jobs not yet ended and rejects with InterruptedError.
   */
  wait(i: number): Promise<TaskResult>;
  /** Cancels the jobs of these tasks (default: every job not yet followed to its end); never throws. */
  cancel(tasks?: readonly number[]): Promise<void>;
}

/**
 * A sweep's points as one array job of a batch runner (README "Sweeps and experiments"): element k runs this CLI for
 * `tasks` with element k's -P overrides, task overrides and environment, once the jobs `after` succeeded.
 */
export interface ArrayJobSpec {
  /** What the array is called in the batch system and its log files (e.g. sweep). */
  name: string;
  /** The tasks each element runs (one inner `mlcube run --task=...`). */
  tasks: string[];
  elements: { params: string[]; taskArgs: string[]; env: Record<string, string> }[];
  /** How long an element may run (the sum of its tasks' timeouts); null: no limit. */
  timeoutMs: number | null;
}

/** A submitted array job: one job id per element, followed as SubmittedGraph's jobs are. */
export interface SubmittedArray {
  jobs: SubmittedJob[];
  wait(k: number): Promise<TaskResult>;
  cancel(): Promise<void>;
}

export interface TaskResult {
  exitCode: number;
  durationMs: number;
  /** Clean-up still under way after the task ended (e.g. removing its container): awaited after recording the run. */
  cleanup?: Promise<void>;
  /** Resources the task used; measured when the run is recorded (ctx.taskIo set). */
  usage?: TaskUsage;
}

/** What a runner can do, said by its description (and by the runner it creates), so callers need not load it to know. */
export interface RunnerCapabilities {
  /** The task sees host paths (no container, no /mlcube_io mounts). */
  readonly seesHostPaths: boolean;
  /** A batch system sequences a whole task graph itself (e.g. Slurm afterok): the runner has submitGraph, and `run --detach` works. */
  readonly batch: boolean;
  /** An input mounted read-only (`opts: ro`, `--mount=ro`) cannot be written by the task: the runtime enforces it (a run policy relies on it). */
  readonly enforcesReadOnly: boolean;
}

export interface Runner<S extends RunnerSettings = RunnerSettings> {
  readonly name: string;
  /** Its description's capabilities (the same object). */
  readonly capabilities: RunnerCapabilities;
  /** Docker: the Engine endpoint the containers run on (recorded, so a killed run's containers can be found). */
  readonly dockerHost?: string;
  /**
   * Is the runtime there? Used by doctor, by run before starting, and by integration-test skips. With
   * `{ quick: true }` (run's pre-flight) a runner may skip what only the version report needs, if that is slower.
   */
  probe(opts?: { quick?: boolean }): Promise<Availability>;
  /** Prepare what tasks need (pull/build images...). Idempotent. */
  configure(ctx: RunContext<S>): Promise<void>;
  /**
   * What the task would be started with (`run --dry-run`), pure: the command line, the names of the environment
   * variables it is given (never their values: they may be secrets), and the mounts. Runners without it: shown as
   * decided when the task starts.
   */
  preview?(task: ResolvedTask, ctx: RunContext<S>): TaskPreview;
  /**
   * Optional: everything that can be checked or prepared before anything is created on disk, for all the tasks of
   * the run (command lines, executables, mounts it cannot make safe, the image: pulled or built now if missing).
   * Throws an MlcubeError (2-4).
   */
  check?(tasks: readonly ResolvedTask[], ctx: RunContext<S>): Promise<void>;
  /** Run one task; resolves with its exit code (non-zero is not thrown: the caller decides). */
  run(task: ResolvedTask, ctx: RunContext<S>): Promise<TaskResult>;
  /**
   * Present exactly when capabilities.batch: submit the whole graph at once, `parents[i]` the indices of the tasks
   * task i waits for (all earlier in `tasks`), the batch system sequencing it (e.g. Slurm afterok); `run` then
   * follows each task's job through SubmittedGraph.wait, or not at all (--detach).
   */
  submitGraph?(tasks: readonly BatchTask[], parents: readonly (readonly number[])[], ctx: RunContext<S>): Promise<SubmittedGraph>;
  /** Batch runners: a sweep's points as one array job, each element after the jobs `after` succeeded (src/app/sweep.ts). */
  submitArray?(spec: ArrayJobSpec, after: readonly string[], ctx: RunContext<S>): Promise<SubmittedArray>;
  /** Machine-readable facts about the configured image (e.g. {hash}); optional. */
  inspect?(ctx: RunContext<S>, force: boolean): Promise<Tree>;
}

/** A runner's schema under schemas/ (named by its description). */
export type RunnerSchemaName = `runner-${string}.schema.json`;

/** A Slurm-style job's state, as `mlcube status` shows it. */
export interface JobState {
  id: string;
  state: string;
  reason?: string;
  exitCode?: number;
  stdout?: string;
  stderr?: string;
}

/** Following and cancelling the jobs a batch runner submitted (`mlcube status` / `mlcube cancel`). */
export interface JobControl {
  /** undefined when the batch system no longer knows the job. */
  jobState(id: string, env: Record<string, string | undefined>): Promise<JobState | undefined>;
  cancelJobs(ids: readonly string[], env: Record<string, string | undefined>): Promise<void>;
}

/**
 * One runner, described once (runners/<name>-config.ts) and listed once (runners/index.ts): its name, its schema
 * and configuration behaviour (pure, cheap to load: no runtime clients imported), how its settings are parsed, its
 * capabilities, and how to create it. The config layer and the build take the runner list from here.
 */
export interface RunnerDescription<S extends RunnerSettings = RunnerSettings> {
  readonly name: string;
  /** Cube section merged into `runner` (docker: `docker`, singularity: `singularity`, local: `local`). */
  readonly section: string;
  /** Its schema: validates the runner section; its `default`s, in property order, are the platform defaults. */
  readonly schema: RunnerSchemaName;
  readonly capabilities: RunnerCapabilities;
  /** CLI flag -> key in the runner section; flags a runner does not list are rejected for it. */
  readonly flagKeys: Partial<Record<keyof RunnerFlags, string>>;
  /** Runner-specific merge of the cube section into cfg.runner (Python Config.merge). Mutates cfg. */
  merge(cfg: Tree, probe: ConfigProbe): void;
  /** Runner-specific checks after the final merge (Python Config.validate). */
  validate?(cfg: Tree): void;
  /** How show_config prints the runner section when it differs from the working form (Python renders some maps as strings). */
  display?(runner: Tree): Tree;
  /**
   * The runner section of the effective configuration (after merge, validation and interpolation) parsed once into
   * the runner's typed settings. A value of the wrong shape is a ConfigError naming the key, the value, what was
   * expected and a fix (fail closed).
   */
  settings(cfg: Tree): S;
  /** Creates the runner (may import heavy clients lazily); `settings` are the run's, when there is one (not for doctor). */
  create(settings?: S): Promise<Runner<S>>;
  /** Batch runners: their job control, loaded only when asked. */
  jobControl?(): Promise<JobControl>;
}

/** The few filesystem/PATH facts config merging may ask (injected so merging stays testable). */
export interface ConfigProbe {
  isFile(path: string): boolean;
  which(executable: string): string | undefined;
}

/** The image digest (`sha256:<hex>`) in what a runner's inspect() reports, as run records hold it; null when it reports none. */
export function inspectedDigest(facts: Tree | undefined): string | null {
  const hash = facts?.hash;
  return typeof hash === 'string' && /^[0-9a-f]{32,}$/.test(hash) ? `sha256:${hash}` : null;
}
