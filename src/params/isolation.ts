import { join, resolve as resolvePath } from 'node:path';
import type { FsProbe } from './fs-probe.js';

/** The workspace's own directory: run records (`runs/`), the producer index, Slurm state. Never a task's. */
export const RECORDS_DIR = '.mlcube';

/**
 * What decides where a task may write and what a container may see, as real paths (symbolic links resolved) where
 * that matters. Computed once per task resolution (src/params/resolve.ts), used by the mount plan (mounts.ts).
 */
export interface Isolation {
  /** The workspace as configured (lexical, absolute). */
  workspace: string;
  realWorkspace: string;
  /** Real path of `<workspace>/.mlcube`: hidden in every container mount that contains it. */
  records: string;
  home: string;
  realHome: string;
  /**
   * Never mounted into a container and never written as an output: `~/.mlcube` (settings, the default signing key),
   * `~/.ssh`, and the signing key `$MLCUBE_SIGNING_KEY` names; each as written and as resolved.
   */
  secrets: Secret[];
}

export interface Secret {
  path: string;
  /** What it is, for messages: "your SSH keys". */
  what: string;
}

/** `path` is `dir` or inside it (both absolute and normalised). */
export function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir === '/' ? '/' : `${dir}/`);
}

export function isolationOf(workspace: string, home: string, env: Record<string, string | undefined>, fs: Pick<FsProbe, 'realTarget'>): Isolation {
  const realHome = fs.realTarget(home);
  const secrets = new Map<string, string>();
  const add = (path: string, what: string) => secrets.has(path) || secrets.set(path, what);
  for (const [name, what] of [
    ['.mlcube', 'your mlcube keys and settings'],
    ['.ssh', 'your SSH keys'],
  ]) {
    for (const h of [home, realHome]) add(join(h, name), what);
    add(fs.realTarget(join(home, name)), what);
  }
  const key = env.MLCUBE_SIGNING_KEY;
  if (key) {
    // As the key loader reads it: relative to the current directory.
    const abs = resolvePath(key);
    add(abs, 'the signing key');
    add(fs.realTarget(abs), 'the signing key');
  }
  return {
    workspace,
    realWorkspace: fs.realTarget(workspace),
    records: fs.realTarget(join(workspace, RECORDS_DIR)),
    home,
    realHome,
    secrets: [...secrets].map(([path, what]) => ({ path, what })),
  };
}

/** Top-level directories of the system: no output may be written in them (`/var/tmp` excepted). */
export const SYSTEM_DIRS = ['/etc', '/usr', '/bin', '/sbin', '/boot', '/dev', '/proc', '/sys', '/run', '/var'] as const;

/** Where a path lies that an output must never be written to, as a phrase ("is under /etc, a system directory"), or undefined. */
export function forbiddenOutput(paths: readonly string[], iso: Isolation): string | undefined {
  for (const p of new Set(paths)) {
    if (p === '/') return 'is the root directory';
    for (const s of iso.secrets) if (within(p, s.path)) return `is ${p === s.path ? '' : 'inside '}${s.path} (${s.what})`;
    for (const h of new Set([iso.home, iso.realHome])) {
      if (p === h) return `is your home directory itself`;
      if (within(h, p)) return `contains your home directory ${h}`;
    }
    const top = `/${p.split('/')[1]}`;
    if ((SYSTEM_DIRS.includes(top as (typeof SYSTEM_DIRS)[number]) || /^\/lib/.test(top)) && !within(p, '/var/tmp')) return `is ${p === top ? '' : 'under '}${top}, a system directory`;
  }
  return undefined;
}

/** The parameter's path is the workspace's `.mlcube` or inside it (as written or resolved). */
export function insideRecords(path: string, real: string, iso: Isolation): boolean {
  return within(path, join(iso.workspace, RECORDS_DIR)) || within(real, iso.records);
}

/**
 * Why a container must not see the host directory `real` (a mount's resolved source), or undefined. A secret
 * inside the workspace's `.mlcube` is hidden with it (mounts.ts covers), so it does not count.
 */
export function exposedByDirectory(real: string, iso: Isolation): string | undefined {
  for (const h of new Set([iso.home, iso.realHome])) {
    if (real === h) return `it is your home directory (${h}), with your keys in it`;
    if (within(h, real)) return `it contains your home directory ${h}, with your keys in it`;
  }
  for (const s of iso.secrets) {
    if (within(real, s.path)) return `it is ${real === s.path ? '' : 'inside '}${s.path} (${s.what})`;
    if (within(s.path, real) && !within(s.path, iso.records)) return `it contains ${s.path} (${s.what})`;
  }
  return undefined;
}

/** Why a container must not see the host file `real` (an input file bound by itself), or undefined. */
export function exposedByFile(real: string, iso: Isolation): string | undefined {
  for (const s of iso.secrets) if (within(real, s.path)) return `it is ${real === s.path ? '' : 'inside '}${s.path} (${s.what})`;
  if (within(real, iso.records)) return `it is inside the workspace's ${RECORDS_DIR} (run records)`;
  return undefined;
}
