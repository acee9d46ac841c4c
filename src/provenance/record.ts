import type { TreeEntry } from './digest.js';
import type { MetricRow } from './metrics.js';
import type { GateReport } from '../gates/evaluate.js';
import type { PolicyDecision } from '../policy/decide.js';
import type { EncryptionFacts } from '../crypto/param-facts.js';
import type { CapturedOutput } from './task-output.js';
export type { CapturedOutput };
import type { SecretRef } from '../config/secrets.js';
import type { CacheFacts } from '../cache/task-cache.js';
import type { SweepLabel } from './labels.js';

/**
 * Status written by the runtime. `killed`: mlcube itself was killed while the task ran (SIGKILL, power loss); a
 * "running" record whose mlcube is gone reads as killed, and the next mlcube command on its workspace rewrites it
 * so once it has stopped and removed what the run left (src/provenance/reaper.ts).
 */
export type RunStatus = 'running' | 'succeeded' | 'failed' | 'interrupted' | 'killed' | 'timed_out';
export type ShownStatus = RunStatus;

export const RECORD_SCHEMA = 'mlcube-run-record/v2';

/** What a digested path was when it was hashed (README "Digests"). */
export type FoundKind = 'file' | 'directory' | 'missing' | 'symlink' | 'other';

export interface ParamDigest {
  /** `sha256` for files, `mlcube-tree-v1` for directories (see README "Digests"). */
  algorithm: 'sha256' | 'mlcube-tree-v1';
  sha256: string;
  /** Files: bytes. */
  size?: number;
  /** Directories: number of manifest entries, and the manifest file (relative to the run directory). */
  entries?: number;
  manifest?: string;
}

/** Where a recorded path lives: relative to the workspace the record sits in, or absolute (outside it). */
export type PathBase = 'workspace' | 'absolute';

export interface RecordedParam {
  name: string;
  io: 'input' | 'output';
  type: 'file' | 'directory';
  /** Relative to the workspace (`base: workspace`, `/`-separated, `.` for the workspace itself) or absolute. */
  path: string;
  base: PathBase;
  /** Path the task saw inside its container (`/mlcube_io<k>/...`); null on the host runners. */
  container_path: string | null;
  /** What was on disk when hashed; only files and directories have a digest. */
  found: FoundKind;
  digest: ParamDigest | null;
  /** dataset, model, metrics, config or code, inferred from the parameter (README "Lineage"). */
  kind: ArtifactKind;
  /** An encrypted parameter (its path and digest are the ciphertext's): what it holds and the key's fingerprint; null when its header could not be read. */
  encryption?: EncryptionFacts | null;
}

export type ArtifactKind = 'dataset' | 'model' | 'metrics' | 'config' | 'code';

export interface LineageLink {
  /** Our input parameter that consumed it. */
  input: string;
  run_id: string;
  task: string;
  /** The earlier run's output parameter (and file inside it, for a match inside a directory). */
  output: string;
  file?: string;
  sha256: string;
}

/** A digest of the cube's code on the host (host runners): the cube directory's tree less its workspaces. */
export interface CodeDigest {
  algorithm: 'mlcube-tree-v1';
  sha256: string;
  entries: number;
  manifest: string;
  /** Top-level entries of the cube root left out (relative to the root). */
  excluded: string[];
}

export interface HostFacts {
  hostname: string;
  platform: string;
  arch: string;
  node: string;
  user: string;
  cpu_model: string;
  cpu_count: number;
  memory_bytes: number;
  /** null: no nvidia-smi on this host. */
  gpus: { name: string; driver: string; memory_mib?: number }[] | null;
  gpu_error?: string;
}

/**
 * What a later mlcube needs to find and stop what this run started if its mlcube dies (README "Reaping").
 * Start times are /proc/<pid>/stat field 22 (clock ticks since boot): with the boot id they tell a process apart
 * from a later one that got the same pid. Null where the host cannot tell (no /proc) or not yet known.
 */
export interface ReapingFacts {
  boot_id: string | null;
  /** Start time of mlcube's own process (the record's `pid`). */
  pid_start: number | null;
  /** The task's private metrics directory (under the temp directory), removed when the run ends. */
  metrics_dir: string;
  /** Local runner: the task runs in its own process group, led by the task's process; null until it started. */
  task_pgid: number | null;
  task_start: number | null;
  /** Docker runner: the daemon; the run's containers carry the label org.mlcommons.mlcube.run-id=<run_id>. */
  docker_host: string | null;
}

/** How a killed run was cleaned up, by which later mlcube process and when. */
export interface ReapedFacts {
  at: string;
  by_pid: number;
  actions: string[];
}

export interface TaskUsageRecord {
  cpu_ms: number | null;
  max_rss_bytes: number | null;
  method: string;
}

/** The run record, `<workspace>/.mlcube/runs/<run_id>/record.json` (schemas/run-record.schema.json). */
export interface RunRecord {
  schema: typeof RECORD_SCHEMA;
  run_id: string;
  task: string;
  status: RunStatus;
  exit_code: number | null;
  pid: number;
  started_at: string;
  ended_at: string | null;
  duration_ms: number | null;
  /** Absolute path of the workspace when the task ran (informational: paths are checked where the record is found). */
  workspace: string;
  cube: {
    name: string | null;
    /** Absolute root when the task ran. */
    root: string;
    /** The root relative to the workspace when the workspace lies inside it (e.g. `..`), else null. */
    root_from_workspace: string | null;
    /** The cube file, relative to the root. */
    file: string;
    sha256: string;
    /** Host runners only; container runners record the image instead. */
    code: CodeDigest | null;
  };
  runner: string;
  /** The task ran on the host (its code is the cube's files) rather than in an image. */
  runs_on_host: boolean;
  platform: string;
  host: HostFacts;
  gpus: string;
  image: { reference: string | null; digest: string | null; kind: string } | null;
  /** The effective config with secret values redacted (src/config/secrets.ts). */
  config: unknown;
  /** The secret values left out of config: name, source, path and sha256. */
  secrets: SecretRef[];
  parameters: RecordedParam[];
  metrics: { rows: MetricRow[]; final: Record<string, number | string>; rejected: string[] };
  output: { stdout: CapturedOutput | null; stderr: CapturedOutput | null };
  usage: TaskUsageRecord | null;
  logs: { path: string; sha256: string }[];
  lineage: LineageLink[];
  error?: string;
  /** Tasks with release gates: each gate's result and the release decision (failed: status failed, exit_code 7). */
  gates?: GateReport;
  /** The run policies that allowed the run (README "Policy gate"): each file's sha256 and every rule's result. */
  policies?: PolicyDecision[];
  /** The task cache's key and decision (README "Task cache"); a hit ("cached") links the run whose outputs these are. */
  cache?: CacheFacts;
  /** A run of `mlcube rerun`: the run it repeats and the overrides given on top of that run's configuration. */
  rerun?: { of: string; overrides: string[] };
  /** --experiment (null: none); absent in records written before it existed. */
  experiment?: string | null;
  /** --tag KEY=VALUE pairs ({}: none). */
  tags?: Record<string, string>;
  /** A run of a sweep (README "Sweeps and experiments"): its id, the point (null: a task the points share) and the point's values. */
  sweep?: SweepLabel;
  /** Written by this version on: what a later mlcube needs to clean up after a killed run. */
  reaping?: ReapingFacts;
  /** Status killed: what the mlcube that found the run dead did. */
  reaped?: ReapedFacts;
  /** Present when signed: the DSSE envelope's file (in the run directory) and the signer's key id. */
  signature: { envelope: typeof ENVELOPE_FILE; keyid: string } | null;
}

export const RECORD_FILE = 'record.json';
export const ENVELOPE_FILE = 'provenance.dsse.json';
export const METRICS_FILE = 'metrics.jsonl';
export const MANIFEST_DIR = 'manifests';
export const CODE_MANIFEST = `${MANIFEST_DIR}/code.txt`;
/** The key under which a directory parameter's manifest entries are kept (Manifests): `<io>:<name>`. */
export const manifestKey = (p: Pick<RecordedParam, 'io' | 'name'>) => `${p.io}:${p.name}`;
export const manifestFileOf = (p: Pick<RecordedParam, 'io' | 'name'>) => `${MANIFEST_DIR}/${p.io}-${p.name.replace(/[^A-Za-z0-9_.-]/g, '_')}.txt`;

/** Directory entries of each directory parameter (from its manifest), by parameter name. */
export type Manifests = ReadonlyMap<string, readonly TreeEntry[]>;
