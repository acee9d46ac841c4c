import { dirname } from 'node:path';
import { isolationOf, type Isolation } from '../../src/params/isolation.js';
import type { ResolvedParam } from '../../src/params/resolve.js';
import type { ContainerHost } from '../../src/params/mounts.js';

/** Isolation facts for a table test: no symbolic links anywhere (real path = path). */
export const isolation = (workspace = '/ws', home = '/home/u', env: Record<string, string> = {}): Isolation => isolationOf(workspace, home, env, { realTarget: (p) => p });

/** A resolved parameter for a table test: real paths are the paths (no links). */
export function param(p: Omit<ResolvedParam, 'realPath' | 'realDir'> & Partial<Pick<ResolvedParam, 'realPath' | 'realDir'>>): ResolvedParam {
  return { ...p, realPath: p.realPath ?? p.hostPath, realDir: p.realDir ?? (p.type === 'directory' ? p.hostPath : dirname(p.hostPath)) };
}

/** The host side of a container plan in table tests: a non-root user. */
export const HOST: ContainerHost = { scratch: '/scratch', uid: 1000, cwd: '/cube' };
