import { ConfigError } from '../errors.js';
import { isTree, type Tree } from './tree.js';
import { gpuRequest } from '../params/gpus.js';
import { splitCommand } from '../params/split-command.js';
import type { RunnerDescription, RunnerSettings } from '../runner.js';

/** A value as an error message shows it. */
function shown(v: unknown): string {
  if (v === undefined) return 'not set';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `a list (${JSON.stringify(v).slice(0, 60)})`;
  if (isTree(v)) return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

/**
 * Typed reads of one runner section of the effective configuration (merged, validated, interpolated), for the
 * runners' settings(): absent (undefined or null) gives the fallback; a value of another shape is a ConfigError
 * naming the key, the value, what was expected and a fix (fail closed: the schema checked the tree before
 * interpolation, which may still have put anything there).
 */
export class SectionReader {
  constructor(
    /** The cube section the keys belong to (docker, singularity...), for messages and -P fixes. */
    readonly section: string,
    readonly values: Tree,
  ) {}

  /** `example`: a value the default fix (a -P override) shows; `fix`: another fix instead. */
  fail(key: string, expected: string, example: string, fix?: string): never {
    throw new ConfigError(`${this.section}.${key} is ${shown(this.values[key])}; expected ${expected}`, {
      configPath: ['runner', key],
      suggestions: [fix ?? `Fix it in the cube's \`${this.section}:\` section or the platform settings, e.g. -P${this.section}.${key}=${example}.`],
    });
  }

  private split(key: string, v: string): string[] {
    return splitCommand(v, `${this.section}.${key}`, ['runner', key]);
  }

  private absent(key: string): boolean {
    return this.values[key] === undefined || this.values[key] === null;
  }

  /** A string ('' kept); absent: the fallback. */
  str(key: string): string | undefined;
  str(key: string, fallback: string): string;
  str(key: string, fallback?: string): string | undefined {
    if (this.absent(key)) return fallback;
    const v = this.values[key];
    if (typeof v !== 'string') this.fail(key, 'a string', 'value');
    return v;
  }

  /** A string that must be there (a default of the schema, or required). */
  required(key: string, example: string): string {
    const v = this.values[key];
    if (typeof v !== 'string') this.fail(key, 'a string', example);
    return v;
  }

  /** A non-empty string, else undefined (the runners add an option only for a value). */
  nonEmpty(key: string): string | undefined {
    return this.str(key) || undefined;
  }

  bool(key: string, fallback: boolean): boolean {
    if (this.absent(key)) return fallback;
    const v = this.values[key];
    if (typeof v !== 'boolean') this.fail(key, 'true or false', String(!fallback));
    return v;
  }

  num(key: string): number | undefined {
    if (this.absent(key)) return undefined;
    const v = this.values[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(key, 'a number', '2');
    return v;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T, fix?: string): T {
    const v = this.str(key, fallback);
    const found = allowed.find((a) => a === v);
    if (found === undefined) this.fail(key, `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`, allowed[0], fix);
    return found;
  }

  /** Command words: a string split like a shell would (never run through one), or a list; absent or blank: undefined. */
  command(key: string): string[] | undefined {
    const v = this.values[key];
    if (this.absent(key) || (typeof v === 'string' && v.trim() === '')) return undefined;
    if (typeof v === 'string') return this.split(key, v);
    if (Array.isArray(v) && v.every((w) => typeof w === 'string')) return [...v];
    this.fail(key, 'a command (a string, or a list of strings)', '"node main.js"');
  }

  /** Option words of a string (split like a shell would, never run through one); absent: none. */
  words(key: string): string[] {
    const v = this.str(key, '');
    return v.trim() === '' ? [] : this.split(key, v);
  }

  /** A list of strings; absent: empty. */
  list(key: string): string[] {
    if (this.absent(key)) return [];
    const v = this.values[key];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) this.fail(key, 'a list of strings', '[A,B]');
    return [...v];
  }

  /** A mapping of environment variables (values taken literally as strings); absent: empty. */
  env(key: string): Record<string, string> {
    if (this.absent(key)) return {};
    const v = this.values[key];
    if (!isTree(v)) this.fail(key, 'a mapping of NAME: value', '{NAME: value}');
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, String(x)]));
  }
}

/** The runner section of an effective configuration. */
export function runnerSection(cfg: Tree, runner: Pick<RunnerDescription, 'section'>): SectionReader {
  return new SectionReader(runner.section, isTree(cfg.runner) ? cfg.runner : {});
}

/** The effective configuration's runtime paths: the cube root and the workspace. */
export function runtimePaths(cfg: Tree): { root: string; workspace: string } {
  const rt = isTree(cfg.runtime) ? cfg.runtime : {};
  return { root: String(rt.root), workspace: String(rt.workspace) };
}

/**
 * What every runner's settings hold, read in one place for all: the GPU request (--gpus, under the key the
 * runner keeps it: `--nv` for singularity; else platform.accelerator_count) and --mount (`--mount_opts`).
 */
export function commonSettings(cfg: Tree, runner: Pick<RunnerDescription, 'section' | 'flagKeys'>): RunnerSettings {
  const r = runnerSection(cfg, runner);
  const gpuKey = runner.flagKeys.gpus;
  const gpuFlag = gpuKey === undefined ? undefined : r.str(gpuKey);
  const platform = isTree(cfg.platform) ? cfg.platform : {};
  const gpus = gpuRequest(gpuFlag, platform.accelerator_count);
  const mountKey = runner.flagKeys.mount;
  const mountMode = mountKey === undefined ? undefined : r.oneOf(mountKey, ['', 'ro', 'rw'], '', 'Pass --mount=ro or --mount=rw, or leave it out.') || undefined;
  return { gpus, hideGpus: gpus.kind === 'none' && gpuFlag !== undefined, mountMode };
}
