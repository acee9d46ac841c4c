/**
 * The one error hierarchy of the runtime. Every user-facing failure is an MlcubeError whose message names
 * the place (file:line:col, task, parameter), the value found, what was expected, and one fix.
 * Exit codes are documented in README.md ("Exit codes").
 */
export interface ErrorPlace {
  file?: string;
  line?: number;
  col?: number;
  task?: string;
  parameter?: string;
}

export interface ErrorOptions {
  place?: ErrorPlace;
  suggestions?: string[];
  cause?: unknown;
  /** Where in the effective configuration the bad value sits (e.g. ['runner', 'image']), when the thrower has no file place: the config layer locates it (src/config/config-places.ts). */
  configPath?: readonly string[];
}

export function formatPlace(place: ErrorPlace | undefined): string {
  if (!place) return '';
  const parts: string[] = [];
  if (place.file) {
    let loc = place.file;
    if (place.line !== undefined) loc += `:${place.line}`;
    if (place.line !== undefined && place.col !== undefined) loc += `:${place.col}`;
    parts.push(loc);
  }
  if (place.task) parts.push(`task "${place.task}"`);
  if (place.parameter) parts.push(`parameter "${place.parameter}"`);
  return parts.join(', ');
}

export abstract class MlcubeError extends Error {
  abstract readonly code: string;
  abstract readonly exitCode: number;
  readonly place?: ErrorPlace;
  readonly suggestions: string[];
  readonly detail: string;
  readonly configPath?: readonly string[];

  constructor(detail: string, opts: ErrorOptions = {}) {
    const where = formatPlace(opts.place);
    super(where ? `${where}: ${detail}` : detail, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.detail = detail;
    this.place = opts.place;
    this.suggestions = opts.suggestions ?? [];
    this.configPath = opts.configPath;
    this.name = new.target.name;
  }

  /** Message plus the suggested fixes, as printed by the CLI. */
  render(): string {
    const lines = [`${this.code}: ${this.message}`];
    for (const s of this.suggestions) lines.push(`  fix: ${s}`);
    return lines.join('\n');
  }
}

/** mlcube.yaml, system settings or a -P override is malformed or breaks the schema. */
export class ConfigError extends MlcubeError {
  readonly code = 'MLCUBE_CONFIG_INVALID';
  readonly exitCode = 2;
}

/** A task parameter cannot be resolved to a usable host path. */
export class ParameterError extends MlcubeError {
  readonly code = 'MLCUBE_PARAM_INVALID';
  readonly exitCode = 2;
}

/** A command-line usage problem (unknown task, unknown override, bad flag value). */
export class UsageError extends MlcubeError {
  readonly code = 'MLCUBE_USAGE';
  readonly exitCode = 2;
}

/** The runtime a runner needs (docker daemon, singularity binary, sbatch...) is missing or unusable. */
export class RuntimeUnavailableError extends MlcubeError {
  readonly code = 'MLCUBE_RUNTIME_MISSING';
  readonly exitCode = 3;
}

/** Building, pulling or locating the task's image failed. */
export class ImageError extends MlcubeError {
  readonly code = 'MLCUBE_IMAGE_FAILED';
  readonly exitCode = 4;
}

/** The task ran and failed; the exit code is the task's own (or 128+signal). */
export class TaskFailedError extends MlcubeError {
  readonly code = 'MLCUBE_TASK_FAILED';
  readonly exitCode: number;
  constructor(detail: string, taskExitCode: number, opts: ErrorOptions = {}) {
    super(detail, opts);
    this.exitCode = taskExitCode > 0 && taskExitCode < 256 ? taskExitCode : 1;
  }
}

/** The task's process could not be started where it runs (e.g. the container's program is not in the image): it never ran. */
export class TaskNotStartedError extends MlcubeError {
  readonly code = 'MLCUBE_TASK_NOT_STARTED';
  readonly exitCode = 6;
}

/** The task succeeded but a release gate of it failed (README "Release gates"): the message lists every gate. */
export const GATE_FAILED_EXIT_CODE = 7;
export class GateFailedError extends MlcubeError {
  readonly code = 'MLCUBE_GATE_FAILED';
  readonly exitCode = GATE_FAILED_EXIT_CODE;
}

/** A run policy denied the run before anything ran (README "Policy gate"): the message lists every failed rule. */
export const POLICY_DENIED_EXIT_CODE = 8;
export class PolicyDeniedError extends MlcubeError {
  readonly code = 'MLCUBE_POLICY_DENIED';
  readonly exitCode = POLICY_DENIED_EXIT_CODE;
}

/** A task ran past its timeout (README "Timeouts") and was stopped: its record says timed_out. 124 as GNU timeout's. */
export const TIMED_OUT_EXIT_CODE = 124;
export class TaskTimedOutError extends MlcubeError {
  readonly code = 'MLCUBE_TASK_TIMED_OUT';
  readonly exitCode = TIMED_OUT_EXIT_CODE;
}

/** The run was interrupted by the user (Ctrl-C / SIGTERM). */
export class InterruptedError extends MlcubeError {
  readonly code = 'MLCUBE_INTERRUPTED';
  readonly exitCode = 130;
}

export function isMlcubeError(e: unknown): e is MlcubeError {
  return e instanceof MlcubeError;
}

/** `provenance verify` found a problem: a signature, a digest, a missing file; the message lists every one. */
export class ProvenanceError extends MlcubeError {
  readonly code = 'MLCUBE_PROVENANCE_INVALID';
  readonly exitCode = 5;
}

/**
 * Another run writes (or reads) what this run would write, and `--no-wait` was given: nothing was changed. Also a
 * run whose claim on its outputs was lost while it ran (another run judged it stale). Exit 75 is sysexits.h's
 * EX_TEMPFAIL: try again later.
 */
export class OutputsBusyError extends MlcubeError {
  readonly code = 'MLCUBE_OUTPUTS_BUSY';
  readonly exitCode = 75;
}

/**
 * `mlcube decrypt` (or a run decrypting an input) cannot open a ciphertext: not the format, a key that is not the one
 * it was sealed with, or a header or chunk that does not authenticate (changed, dropped, reordered, truncated,
 * appended to). Nothing is written at the destination. Exit 5, as for the other failed integrity checks.
 */
export class DecryptError extends MlcubeError {
  readonly code = 'MLCUBE_DECRYPT_FAILED';
  readonly exitCode = 5;
}
