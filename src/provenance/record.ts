import type { TreeEntry } from './digest.js';
import type { MetricRow } from './metrics.js';
import type { SecretRef } from '../config/secrets.js';

/** Status written by the runtime; `killed` is never written, it is what a dead "running" record reads as. */
export type RunStatus = 'running' | 'succeeded' | 'failed' | 'interrupted';
export type ShownStatus = RunStatus | 'killed';

export interface ParamDigest {
  /** `sha256` for files, `mlcube-tree-v1` for directories (see README "Digests"). */
  algorithm: 'sha256' | 'mlcube-tree-v1';
  sha256: string;
  size?: number;
  entries?: TreeEntry[];
}

export interface RecordedParam {
  name: string;
  io: 'input' | 'output';
  type: 'file' | 'directory';
  host_path: string;
  /** Path the task saw inside its container (`/mlcube_io<k>/...`); null on the host runners. */
  container_path: string | null;
  /** null: the path was missing when hashed (an output a failed task did not write). */
  digest: ParamDigest | null;
}

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

/** The run record, `<workspace>/.mlcube/runs/<run_id>/record.json` (schemas/run-record.schema.json). */
export interface RunRecord {
  schema: 'mlcube-run-record/v1';
  run_id: string;
  task: string;
  status: RunStatus;
  exit_code: number | null;
  pid: number;
  started_at: string;
  ended_at: string | null;
  duration_ms: number | null;
  workspace: string;
  cube: { name: string | null; root: string; file: string; sha256: string };
  runner: string;
  platform: string;
  host: { hostname: string; platform: string; arch: string; node: string; user: string };
  gpus: string;
  image: { reference: string | null; digest: string | null; kind: string } | null;
  /** The effective config with secret values redacted (src/config/secrets.ts). */
  config: unknown;
  /** The secret values left out of config: name, source, path and sha256. */
  secrets: SecretRef[];
  parameters: RecordedParam[];
  metrics: { rows: MetricRow[]; final: Record<string, number | string>; rejected: string[] };
  logs: { path: string; sha256: string }[];
  lineage: LineageLink[];
  error?: string;
  /** Present when signed: the DSSE envelope's file (in the run directory) and the signer's key id. */
  signature: { envelope: string; keyid: string } | null;
}

export const RECORD_FILE = 'record.json';
export const ENVELOPE_FILE = 'provenance.dsse.json';
export const METRICS_FILE = 'metrics.jsonl';
