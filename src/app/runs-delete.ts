import { UsageError } from '../errors.js';
import type { AppEnv } from './context.js';
import { reapKilledRuns } from './reap.js';
import { DELETABLE_STATUSES, keptWhy, parseStatuses, planDeletion, type DeletePlan, type RunFacts } from '../provenance/delete-plan.js';
import { pruneProducers } from '../provenance/producer-index.js';
import { unmarkLive } from '../provenance/reaper.js';
import type { RunRecord } from '../provenance/record.js';
import { loadRuns, matchRunIds, runIdError, runsDir, shownStatus } from '../provenance/store.js';
import { emptyTrash, moveToTrash } from '../provenance/trash.js';
import { withWorkspaceGuard } from '../workspace-lock.js';
import { existingWorkspace, type WhereGiven } from '../config/workspace-location.js';

export interface DeleteRequest {
  ids: string[];
  /** `--status` as given (comma-separated). */
  status?: string;
  force: boolean;
  dryRun: boolean;
}

export interface DeleteResult extends DeletePlan {
  workspace: string;
  runs_dir: string;
  dry_run: boolean;
}

const facts = (r: RunRecord): RunFacts => ({
  run_id: r.run_id,
  task: r.task,
  status: r.status,
  shown: shownStatus(r),
  signed: r.signature !== null,
  consumed: [...new Set(r.lineage.map((l) => l.run_id))],
});

/**
 * `mlcube runs delete`: every id is resolved (as `runs show` does) and every flag checked before anything changes;
 * killed runs are cleaned up first (their record is what that needs); then, holding the workspace guard, the chosen
 * run directories are renamed away and their producers dropped from the index, and removed after. Named runs are
 * all deleted or none (exit 2 saying why); runs chosen by `--status` that must stay are kept and reported.
 */
export async function deleteRuns(req: DeleteRequest, given: WhereGiven, app: AppEnv): Promise<DeleteResult> {
  const select = selection(req);
  const where = existingWorkspace(given, app);
  const w = where.dir;
  const before = loadRuns(w);
  const known = before.map((r) => r.run_id);
  const resolve = (id: string) => {
    const hits = matchRunIds(known, id);
    if (hits.length !== 1) throw runIdError(w, id, hits, where.origin, known.length);
    return hits[0];
  };
  const ids = 'ids' in select ? [...new Set(select.ids.map(resolve))] : undefined;
  // Checked before the reaper changes anything (as if it had closed every killed run), and again after it.
  const anticipated = before.map(facts).map((f): RunFacts => (f.status === 'running' && f.shown !== 'running' ? { ...f, status: 'killed' } : f));
  if (ids) refuseKept(planDeletion(anticipated, { ids }, req.force), w);
  emptyTrash(w, app.log); // what a crash left: a trash name is free again before this command renames a run there
  if (!before.length) return { workspace: w, runs_dir: runsDir(w), dry_run: req.dryRun, deleted: [], kept: [] }; // nothing to lock for
  await reapKilledRuns(w, app, before);
  const result = await withWorkspaceGuard(w, () => {
    const plan = planDeletion(loadRuns(w).map(facts), ids ? { ids } : select, req.force);
    if (ids) refuseKept(plan, w);
    if (!req.dryRun) {
      for (const r of plan.deleted) {
        moveToTrash(w, r.run_id);
        unmarkLive(w, r.run_id); // a closed run has none; a stale one must not outlive its record
      }
      pruneProducers(w, new Set(plan.deleted.map((r) => r.run_id)));
    }
    return plan;
  });
  emptyTrash(w, app.log);
  return { workspace: w, runs_dir: runsDir(w), dry_run: req.dryRun, ...result };
}

/** Named runs are deleted all or none: one that must stay fails the command. */
function refuseKept(plan: DeletePlan, w: string): void {
  if (!plan.kept.length) return;
  throw new UsageError(`not deleting ${plan.kept.map((k) => `run ${k.run_id}: ${keptWhy(k)}`).join('; ')}; nothing was deleted`, {
    place: { file: runsDir(w) },
    suggestions: [
      plan.kept.some((k) => k.reason === 'lineage')
        ? 'Name the signed runs that consumed it too (they are deleted with it), or pass --force to delete it anyway.'
        : 'Wait for the run to end (`mlcube runs list` shows it), then delete it.',
    ],
  });
}

function selection(req: DeleteRequest): { ids: string[] } | { statuses: ReturnType<typeof parseStatuses>['statuses'] } {
  if (req.status === undefined) {
    if (req.ids.length) return { ids: req.ids };
    throw new UsageError('runs delete needs run ids or --status', {
      suggestions: ['e.g. `mlcube runs delete RUN_ID --workspace=W` (ids from `mlcube runs list`), or `mlcube runs delete --status=failed,interrupted,killed`.'],
    });
  }
  if (req.ids.length)
    throw new UsageError(`runs delete takes run ids or --status, not both (got ${req.ids.join(' ')} and --status=${req.status})`, {
      suggestions: ['Pass only the ids, or only --status.'],
    });
  const { statuses, invalid } = parseStatuses(req.status);
  if (invalid.length || !statuses.length)
    throw new UsageError(
      `--status=${req.status}: ${invalid.length ? `${invalid.map((s) => `"${s}"`).join(', ')} ${invalid.length > 1 ? 'are not statuses' : 'is not a status'} runs delete selects` : 'no status given'} (valid: ${DELETABLE_STATUSES.join(', ')}; a running run is never deleted)`,
      { suggestions: ['e.g. --status=failed,interrupted,killed'] },
    );
  return { statuses };
}

/** What was deleted (or would be, with --dry-run) and what was kept, with why. */
export function renderDeleted(r: DeleteResult): string {
  const lines: string[] = [];
  const all = [...r.deleted, ...r.kept];
  const w = [Math.max(...all.map((x) => x.run_id.length)), Math.max(...all.map((x) => x.task.length))];
  const row = (x: { run_id: string; task: string; shown: string }) => `  ${x.run_id.padEnd(w[0])}  ${x.task.padEnd(w[1])}  ${x.shown}`;
  if (!r.deleted.length) lines.push(`no run to delete in ${r.runs_dir}`);
  else lines.push(`${r.dry_run ? 'would delete' : 'deleted'} ${r.deleted.length} run${r.deleted.length > 1 ? 's' : ''} from ${r.runs_dir}:`, ...r.deleted.map(row));
  if (r.kept.length) lines.push(`kept ${r.kept.length}:`, ...r.kept.map((k) => `${row(k)}: ${keptWhy(k)}`));
  return lines.join('\n');
}

/** The JSON document: snake_case keys, as every record and list. */
export function deletedJson(r: DeleteResult): unknown {
  const view = (x: { run_id: string; task: string; shown: string }) => ({ run_id: x.run_id, task: x.task, status: x.shown });
  return {
    workspace: r.workspace,
    dry_run: r.dry_run,
    deleted: r.deleted.map(view),
    kept: r.kept.map((k) => ({ ...view(k), reason: k.reason, ...(k.reason === 'lineage' ? { signed_dependents: k.dependents } : {}), message: keptWhy(k) })),
  };
}
