import { dirname } from 'node:path';
import type { ResolvedTask } from './resolve.js';

/**
 * The task with each encrypted parameter pointing at its place in the private place (`places`: `io\0name` -> path),
 * as the runner shows it to the task: an input there exists (decrypted), an output is still to be written. Pure.
 */
export function withPrivatePaths<T extends ResolvedTask>(task: T, places: ReadonlyMap<string, string>): T {
  return {
    ...task,
    params: task.params.map((p) => {
      const at = p.encryption ? places.get(`${p.io}\u0000${p.name}`) : undefined;
      if (at === undefined) return p;
      const { missing: _m, ...rest } = p;
      return { ...rest, hostPath: at, realPath: at, realDir: p.type === 'directory' ? at : dirname(at), ...(p.io === 'output' && p.type === 'file' ? { missing: true as const } : {}) };
    }),
  };
}

/** Where the plan puts encrypted parameters before their private place exists (mounts are planned again then). */
export const PLANNED_PRIVATE_ROOT = '/mlcube-private';

export function plannedPrivatePlaces(task: ResolvedTask): Map<string, string> {
  return new Map(task.params.filter((p) => p.encryption).map((p) => [`${p.io}\u0000${p.name}`, `${PLANNED_PRIVATE_ROOT}/${p.io}-${p.name}`]));
}
