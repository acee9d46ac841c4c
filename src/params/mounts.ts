import { dirname, basename } from 'node:path';
import type { ResolvedParam } from './resolve.js';

export interface Mount {
  host: string;
  container: string;
  /** Set only when a parameter or --mount asked for one (Python appends :ro/:rw only then). */
  opts?: 'ro' | 'rw';
}

export interface MountPlan {
  mounts: Mount[];
  /** `--name=/mlcube_io<k>[/file]`, inputs then outputs, YAML order. */
  args: string[];
  warnings: string[];
}

/**
 * The /mlcube_io<k> contract shared by the container runners (Python Shell.generate_mounts_and_args):
 * one mount per distinct host directory (a file parameter mounts its parent), numbered in order of first use.
 * `globalInputMode` (--mount=ro|rw) overrides the option of every input; outputs keep their own.
 */
export function planMounts(params: readonly ResolvedParam[], globalInputMode?: 'ro' | 'rw' | ''): MountPlan {
  const mounts: Mount[] = [];
  const args: string[] = [];
  const warnings: string[] = [];
  const index = new Map<string, number>();
  for (const p of params) {
    const dir = p.type === 'directory' ? p.hostPath : dirname(p.hostPath);
    let k = index.get(dir);
    if (k === undefined) {
      k = mounts.length;
      index.set(dir, k);
      mounts.push({ host: dir, container: `/mlcube_io${k}` });
    }
    let opt = p.opts;
    if (p.io === 'input' && globalInputMode) opt = globalInputMode;
    if (p.io === 'output' && opt === 'ro') warnings.push(`output parameter "${p.name}" is mounted read-only: the task cannot write it`);
    const m = mounts[k];
    if (opt) {
      if (m.opts && m.opts !== opt) {
        warnings.push(`${m.host} is shared by parameters with different mount options; mounting it rw`);
        m.opts = 'rw';
      } else m.opts = opt;
    }
    args.push(`--${p.name}=${m.container}${p.type === 'file' ? `/${basename(p.hostPath)}` : ''}`);
  }
  return { mounts, args, warnings };
}
