import { isAbsolute, join, normalize } from 'node:path';
import { isTree, type Tree } from '../config/tree.js';
import type { FsProbe } from './fs-probe.js';

export interface SyncCopy {
  from: string;
  to: string;
}

/**
 * Python MLCube's workspace sync (Shell.sync_workspace, reference §4.4): with a custom --workspace, an input
 * of a selected task whose relative path exists in <root>/workspace, is missing in the target, and is no
 * task's output, is copied over first. Pure: returns the copies to make.
 */
export function planWorkspaceSync(cfg: Tree, tasks: readonly string[], defaultWs: string, targetWs: string, fs: Pick<FsProbe, 'kind'>): SyncCopy[] {
  if (normalize(defaultWs) === normalize(targetWs) || fs.kind(defaultWs) !== 'directory') return [];
  const allTasks = cfg.tasks as Tree;
  const outputs = new Set<string>();
  for (const t of Object.values(allTasks)) {
    const group = isTree(t) && isTree(t.parameters) && isTree(t.parameters.outputs) ? t.parameters.outputs : {};
    for (const spec of Object.values(group)) outputs.add(normalize(String((spec as Tree).default)));
  }
  const copies: SyncCopy[] = [];
  const seen = new Set<string>();
  for (const name of tasks) {
    const t = allTasks[name] as Tree;
    const inputs = isTree(t.parameters) && isTree(t.parameters.inputs) ? t.parameters.inputs : {};
    for (const spec of Object.values(inputs)) {
      const rel = String((spec as Tree).default);
      if (isAbsolute(rel) || rel.startsWith('~') || rel.includes('$') || outputs.has(normalize(rel))) continue;
      const from = join(defaultWs, rel).replace(/[\\/]+$/, '');
      const to = join(targetWs, rel).replace(/[\\/]+$/, '');
      if (seen.has(to)) continue;
      const kind = fs.kind(from);
      if ((kind === 'file' || kind === 'directory') && fs.kind(to) === 'missing') {
        copies.push({ from, to });
        seen.add(to);
      }
    }
  }
  // A file inside a directory that is copied anyway needs no copy of its own.
  return copies.filter((c) => !copies.some((d) => d !== c && c.to.startsWith(d.to + '/')));
}
