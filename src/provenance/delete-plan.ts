import type { RunStatus, ShownStatus } from './record.js';

/**
 * Which runs `mlcube runs delete` deletes (pure: the use case, src/app/runs-delete.ts, reads the records and acts).
 * Never deleted: a run whose record still says running (its mlcube is alive, or it is gone but what it left could
 * not be cleaned up yet: the record is what a later command needs to do so), and, without `force`, a run whose
 * outputs a signed run consumed (its lineage points there) unless that signed run is deleted with it.
 */

/** What the plan needs of one run record. */
export interface RunFacts {
  run_id: string;
  task: string;
  /** As the record says it (after the reaper closed what it could). */
  status: RunStatus;
  /** As runs list shows it (killed for a running record whose mlcube is gone). */
  shown: ShownStatus;
  /** The record claims a signature. */
  signed: boolean;
  /** The run ids its lineage points to (runs whose outputs it consumed). */
  consumed: readonly string[];
}

/** The statuses `--status` selects; running is not one: a running run is never deleted. */
export const DELETABLE_STATUSES = ['succeeded', 'failed', 'interrupted', 'killed', 'timed_out'] as const;
export type DeletableStatus = (typeof DELETABLE_STATUSES)[number];

export type KeptReason = { reason: 'running'; gone: boolean } | { reason: 'lineage'; dependents: string[] };
export type Kept = Pick<RunFacts, 'run_id' | 'task' | 'shown'> & KeptReason;

export interface DeletePlan {
  deleted: Pick<RunFacts, 'run_id' | 'task' | 'shown'>[];
  kept: Kept[];
}

/** `failed,interrupted` -> the statuses, or the values that are none (to be reported with the valid ones). */
export function parseStatuses(text: string): { statuses: DeletableStatus[]; invalid: string[] } {
  const values = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const valid = (s: string): s is DeletableStatus => (DELETABLE_STATUSES as readonly string[]).includes(s);
  return { statuses: [...new Set(values.filter(valid))], invalid: values.filter((s) => !valid(s)) };
}

/**
 * The runs to delete among `runs` (oldest first): those named by `ids` (full run ids, already resolved), or those
 * shown with one of `statuses`; the others of the selection are kept, with why.
 */
export function planDeletion(runs: readonly RunFacts[], select: { ids: readonly string[] } | { statuses: readonly DeletableStatus[] }, force: boolean): DeletePlan {
  const chosen = runs.filter((r) => ('ids' in select ? select.ids.includes(r.run_id) : (select.statuses as readonly string[]).includes(r.shown)));
  const kept = new Map<string, Kept>();
  const view = (r: RunFacts) => ({ run_id: r.run_id, task: r.task, shown: r.shown });
  for (const r of chosen) if (r.status === 'running') kept.set(r.run_id, { ...view(r), reason: 'running', gone: r.shown !== 'running' });
  // Keeping a run can make one it consumed depended on by a signed run that now stays: repeat until nothing changes.
  for (let changed = !force; changed;) {
    changed = false;
    const deleting = new Set(chosen.filter((r) => !kept.has(r.run_id)).map((r) => r.run_id));
    for (const r of chosen) {
      if (!deleting.has(r.run_id)) continue;
      const dependents = runs.filter((d) => d.signed && !deleting.has(d.run_id) && d.consumed.includes(r.run_id)).map((d) => d.run_id);
      if (!dependents.length) continue;
      kept.set(r.run_id, { ...view(r), reason: 'lineage', dependents });
      deleting.delete(r.run_id);
      changed = true;
    }
  }
  return { deleted: chosen.filter((r) => !kept.has(r.run_id)).map(view), kept: chosen.filter((r) => kept.has(r.run_id)).map((r) => kept.get(r.run_id)!) };
}

/** One line saying why a run is kept. */
export function keptWhy(k: Kept): string {
  if (k.reason === 'lineage')
    return `the signed run${k.dependents.length > 1 ? 's' : ''} ${k.dependents.join(', ')} consumed its outputs (lineage); --force deletes it anyway (their records keep the link, their verification does not need it)`;
  return k.gone ? 'its record still says running: its mlcube is gone but what it left could not be cleaned up yet (see the warning above); a later mlcube command retries' : 'it is running';
}
