import { basename, dirname, join, relative, resolve } from 'node:path';
import { ConfigError, ParameterError } from '../errors.js';
import type { ResolvedParam } from './resolve.js';
import { exposedByDirectory, exposedByFile, RECORDS_DIR, within, type Isolation } from './isolation.js';

export interface Mount {
  host: string;
  container: string;
  /** Set when a parameter or --mount asked for one (Python appends :ro/:rw only then), and on every input file. */
  opts?: 'ro' | 'rw';
  /**
   * `directory`: a directory parameter's directory, or an output file's; `file`: an input file bound by itself;
   * `pin`: a directory between a mount and a hidden `.mlcube`, bound onto itself so the task cannot rename it away.
   */
  kind: 'directory' | 'file' | 'pin';
  /** The read-only option is the input-file default, not asked for (a runtime that cannot enforce it need not warn). */
  implicit?: true;
}

/** The workspace's `.mlcube` seen through a mount: the runtime puts an empty read-only directory over it. */
export interface Cover {
  /** Where the container would see it. */
  container: string;
  /** The host directory hidden (it must exist before the container starts, or the runtime would create it). */
  host: string;
  /** The parameter whose mount contains it. */
  parameter: string;
}

export interface MountPlan {
  /** Directory mounts (in /mlcube_io<k> order), then pins (shallower first), then input files: parents before children. */
  mounts: Mount[];
  covers: Cover[];
  /** `--name=/mlcube_io<k>[/file]`, inputs then outputs, YAML order. */
  args: string[];
  warnings: string[];
}

/** What the plan needs of a resolved task. */
export interface MountTask {
  name: string;
  params: readonly ResolvedParam[];
  isolation: Isolation;
}

interface DirMount extends Mount {
  real: string;
  parameter: string;
}

/**
 * The /mlcube_io<k> contract shared by the container runners. `k` numbers the distinct host directories of the
 * parameters in order of first use (a file parameter counts its parent), exactly as the Python MLCube
 * (Shell.generate_mounts_and_args), so the task's argv is Python's. What is bound differs:
 * - a directory parameter, or the directory of an output file, is bound at /mlcube_io<k>;
 * - an existing input file is bound by itself at /mlcube_io<k>/<name> (its directory is not shown), read-only unless
 *   its parameter says `opts: rw` or --mount=rw; under a directory mount of the same options it is not bound again;
 * - where a mounted directory contains the workspace's `.mlcube`, the plan says to cover it (Cover) and pins each
 *   directory between the mount and it.
 * A mount that would show the home directory, `~/.mlcube`, `~/.ssh` or the signing key is refused (ParameterError).
 * `globalInputMode` (--mount=ro|rw) overrides the option of every input; outputs keep their own.
 */
export function planMounts(task: MountTask, globalInputMode?: 'ro' | 'rw' | ''): MountPlan {
  const iso = task.isolation;
  const args: string[] = [];
  const warnings: string[] = [];
  const slots = new Map<string, number>();
  const dirs = new Map<number, DirMount>();
  const files: { k: number; mount: Mount; real: string; parameter: string }[] = [];
  for (const p of task.params) {
    const dir = p.type === 'directory' ? p.hostPath : dirname(p.hostPath);
    let k = slots.get(dir);
    if (k === undefined) {
      k = slots.size;
      slots.set(dir, k);
    }
    const container = `/mlcube_io${k}`;
    args.push(`--${p.name}=${container}${p.type === 'file' ? `/${basename(p.hostPath)}` : ''}`);
    if (p.io === 'input' && p.type === 'file') {
      // An absent (optional) input file is absent in the container too: binding its directory instead would show the rest.
      if (p.missing) continue;
      const opts = globalInputMode || p.opts || 'ro';
      files.push({
        k,
        real: p.realPath,
        parameter: p.name,
        mount: { host: p.hostPath, container: `${container}/${basename(p.hostPath)}`, opts, kind: 'file', ...(globalInputMode || p.opts ? {} : { implicit: true as const }) },
      });
      continue;
    }
    let opt = p.opts;
    if (p.io === 'input' && globalInputMode) opt = globalInputMode;
    if (p.io === 'output' && opt === 'ro') warnings.push(`output parameter "${p.name}" is mounted read-only: the task cannot write it`);
    let m = dirs.get(k);
    if (!m) {
      m = { host: dir, container, kind: 'directory', real: p.realDir, parameter: p.name };
      dirs.set(k, m);
    }
    if (opt) {
      if (m.opts && m.opts !== opt) {
        warnings.push(`${m.host} is shared by parameters with different mount options; mounting it rw`);
        m.opts = 'rw';
      } else m.opts = opt;
    }
  }

  const mounts: Mount[] = [];
  const pins: Mount[] = [];
  const covers: Cover[] = [];
  for (const m of [...dirs.values()].sort((a, b) => Number(a.container.slice(10)) - Number(b.container.slice(10)))) {
    const why = within(m.real, iso.records) ? `it is inside the workspace's ${RECORDS_DIR} (run records)` : exposedByDirectory(m.real, iso);
    if (why) throw refusal(task.name, m.parameter, m.host, m.real, why, 'directory');
    mounts.push({ host: m.host, container: m.container, ...(m.opts ? { opts: m.opts } : {}), kind: 'directory' });
    if (!within(iso.records, m.real)) continue;
    const parts = relative(m.real, iso.records).split('/');
    for (let i = 1; i < parts.length; i++) {
      pins.push({ host: join(m.real, ...parts.slice(0, i)), container: join(m.container, ...parts.slice(0, i)), ...(m.opts ? { opts: m.opts } : {}), kind: 'pin' });
    }
    covers.push({ container: join(m.container, ...parts), host: iso.records, parameter: m.parameter });
  }
  pins.sort((a, b) => a.container.split('/').length - b.container.split('/').length);
  mounts.push(...pins);
  for (const f of files) {
    const why = exposedByFile(f.real, iso);
    if (why) throw refusal(task.name, f.parameter, f.mount.host, f.real, why, 'file');
    const under = dirs.get(f.k);
    // Seen through its directory's mount already, with the same options: a second bind would change nothing.
    if (under && (under.opts ?? 'rw') === f.mount.opts) continue;
    mounts.push(f.mount);
  }
  return { mounts, covers, args, warnings };
}

function refusal(task: string, parameter: string, host: string, real: string, why: string, what: 'directory' | 'file'): ParameterError {
  return new ParameterError(`the container would be given ${what} ${host}${real !== host ? ` (${real})` : ''}, but ${why}; mlcube never shows that to a task`, {
    place: { task, parameter },
    suggestions: [`Point the parameter at a ${what} that holds only what the task needs, e.g. ${parameter}=/data/${parameter}${what === 'directory' ? '/' : ''}.`],
  });
}

/**
 * Host paths that a runtime's own options (`run_args`) bind, from `tokens`: `valued` maps option names taking a
 * value to how it reads (`bind`: `SRC[:DST[:OPTS]][,...]`, `mount`: `type=bind,source=SRC,...`); `bare` maps options
 * without a value to the path they bind (e.g. ch-run `--home` binds $HOME). Both `--opt VALUE` and `--opt=VALUE`.
 */
export function extraBindSources(tokens: readonly string[], valued: Record<string, 'bind' | 'mount'>, bare: Record<string, string> = {}): { flag: string; source: string }[] {
  const out: { flag: string; source: string }[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t in bare) {
      out.push({ flag: t, source: bare[t] });
      continue;
    }
    const eq = t.indexOf('=');
    const name = t.startsWith('--') && eq > 0 ? t.slice(0, eq) : t;
    const how = valued[name];
    if (!how) continue;
    const value = name === t ? tokens[++i] : t.slice(eq + 1);
    if (value === undefined) continue;
    if (how === 'bind') for (const spec of value.split(',')) out.push({ flag: name, source: spec.split(':')[0] });
    else {
      const src = /(?:^|,)(?:source|src)=([^,]+)/.exec(value);
      if (src) out.push({ flag: name, source: src[1] });
    }
  }
  return out;
}

/** Refuses a bind from the runtime's options that would show a task what a parameter's mount may not (lexical paths, relative ones to `cwd`). */
export function checkExtraBinds(task: string, key: string, binds: readonly { flag: string; source: string }[], iso: Isolation, cwd: string): void {
  for (const b of binds) {
    const src = resolve(cwd, b.source);
    const why = exposedByDirectory(src, iso) ?? (within(src, iso.records) || within(iso.records, src) ? `it shows the workspace's ${RECORDS_DIR} (run records)` : undefined);
    if (why) {
      throw new ConfigError(`${key} has ${b.flag} ${b.source}, but ${why}; mlcube never shows that to a task`, {
        place: { task },
        suggestions: [`Remove that bind from ${key}, and give the task what it needs as a parameter instead.`],
      });
    }
  }
}

/** What a container runtime's plan needs of the host side of one task run. */
export interface ContainerHost {
  /**
   * A directory private to this task run, made (empty) and removed by the runner, where the plan asks for what the
   * runtime binds besides the parameters (the empty directory laid over `.mlcube`, ...).
   */
  scratch: string;
  /** The uid mlcube runs as (0: root, which some runtimes give capabilities that can undo a cover). */
  uid: number;
  /** The runtime's working directory: relative bind sources in its options are relative to it. */
  cwd: string;
}

/** Directories (made 0555, empty) and empty files a plan asks for under ContainerHost.scratch, parents first. */
export interface ScratchLayout {
  dirs: string[];
  files: string[];
}

/** The empty directory laid over `.mlcube` by runtimes without a tmpfs mount. */
export const emptyDirOf = (host: ContainerHost) => join(host.scratch, 'empty');
