import type { FsProbe } from '../params/fs-probe.js';
import type { ResolvedTask } from '../params/resolve.js';
import type { SyncCopy } from '../params/sync.js';
import type { ClaimedPath } from '../workspace-lock.js';

/**
 * What a run claims (src/workspace-lock.ts): it writes its outputs and the inputs it syncs into the workspace; it
 * reads its inputs (a run writing them meanwhile would make the recorded input digest and lineage lie about what the
 * task read). Paths are where they really are (symbolic links of their existing part followed), so two runs naming
 * one directory differently still meet.
 */
export function claimedPaths(tasks: readonly ResolvedTask[], syncs: readonly SyncCopy[], names: readonly string[], fs: Pick<FsProbe, 'realTarget'>): { writes: ClaimedPath[]; reads: ClaimedPath[] } {
  const writes: ClaimedPath[] = [];
  const reads: ClaimedPath[] = [];
  for (const t of tasks) {
    for (const p of t.params) (p.io === 'output' ? writes : reads).push({ path: p.realPath, io: p.io === 'output' ? 'output' : 'input', task: t.name, parameter: p.name });
  }
  for (const c of syncs) {
    const reader = tasks.flatMap((t) => t.params.filter((p) => p.io !== 'output' && p.hostPath.replace(/[\\/]+$/, '') === c.to).map((p) => ({ task: t.name, parameter: p.name })))[0];
    writes.push({ path: fs.realTarget(c.to), io: 'sync', task: reader?.task ?? names[0], parameter: reader?.parameter ?? c.to });
  }
  return { writes, reads };
}
