import { isMlcubeError, UsageError } from '../errors.js';
import type { TaskRun } from '../app/run.js';
import type { JobStatus } from '../app/jobs.js';
import type { SubmittedJob } from '../runner.js';
import type { SweepRun } from '../app/sweep.js';

// What `--json` prints (README "JSON output"): exactly one document on stdout, keys in snake_case as in record.json
// and the Python MLCube. The app's types keep their TypeScript names; they are mapped here, at the output edge.

/** A JSON document as the CLI prints it on stdout. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/**
 * An error: the MLCUBE_ code, the message (with its place), the process's exit code, the place's parts and the
 * fixes. A command-line error of oclif's (exit 2) is MLCUBE_USAGE; an internal error (a bug, exit 1) has no code.
 */
export interface ErrorJson {
  code: string | null;
  message: string;
  exit_code: number;
  file?: string;
  line?: number;
  col?: number;
  task?: string;
  parameter?: string;
  suggestions: string[];
}

export function errorJson(err: unknown): ErrorJson {
  if (isMlcubeError(err)) return { code: err.code, message: err.message, exit_code: err.exitCode, ...err.place, suggestions: err.suggestions };
  const e = err as { message?: unknown; oclif?: { exit?: number } } | undefined;
  const exit = e?.oclif?.exit ?? 1;
  return { code: exit === 2 ? 'MLCUBE_USAGE' : null, message: String(e?.message ?? err), exit_code: exit, suggestions: [] };
}

/** The document of a failed command: what the command has to say (`data`, e.g. the tasks that ran), and the error. */
export function failureDocument(err: unknown, data: object = {}): object {
  return { ...data, error: errorJson(err) };
}

export const taskRunJson = (t: TaskRun) => ({
  task: t.task,
  status: t.status,
  exit_code: t.exitCode,
  duration_ms: t.durationMs,
  ...(t.release ? { release: t.release } : {}),
  ...(t.runId ? { run_id: t.runId } : {}),
  ...(t.cachedFrom ? { cached_from: t.cachedFrom } : {}),
});

export const submittedJobJson = (j: SubmittedJob) => ({ task: j.task, job_id: j.jobId, stdout: j.stdout, stderr: j.stderr });

/** What `run --json` and `rerun --json` print: the task runs, and the jobs a batch runner submitted. */
export const runDocument = (tasks: readonly TaskRun[], jobs: readonly SubmittedJob[] = []) => ({ tasks: tasks.map(taskRunJson), ...(jobs.length ? { jobs: jobs.map(submittedJobJson) } : {}) });

/** What `run --sweep --json` prints: the sweep's id and directory, the shared tasks' runs, and each point's. */
export const sweepDocument = (s: SweepRun) => ({
  sweep: { id: s.id, dir: s.dir },
  tasks: s.shared.map(taskRunJson),
  points: s.points.map((p) => ({ point: p.index, values: p.values, status: p.status, exit_code: p.exitCode, tasks: p.tasks.map(taskRunJson) })),
});

export const jobStatusJson = (j: JobStatus) => ({
  job_id: j.jobId,
  task: j.task,
  state: j.state,
  reason: j.reason,
  exit_code: j.exitCode,
  stdout: j.stdout,
  stderr: j.stderr,
});

/** A command with --format (default json): --json is --format=json; both, naming another format, is a usage error. */
export function outputFormat(flags: { format?: string; json?: boolean }): string {
  if (flags.json && flags.format !== undefined && flags.format !== 'json') {
    throw new UsageError(`--json and --format=${flags.format} ask for two formats`, { suggestions: [`Drop --json, or drop --format=${flags.format}.`] });
  }
  return flags.json ? 'json' : (flags.format ?? 'json');
}
