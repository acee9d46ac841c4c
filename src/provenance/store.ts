import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { RECORD_FILE, type RunRecord, type ShownStatus } from './record.js';

/** Where run records live: `<workspace>/.mlcube/runs/<run_id>/`. */
export const runsDir = (workspace: string) => join(workspace, '.mlcube', 'runs');

/** Every readable record of a workspace, oldest first. */
export function loadRuns(workspace: string): RunRecord[] {
  const dir = runsDir(workspace);
  if (!existsSync(dir)) return [];
  const out: RunRecord[] = [];
  for (const id of readdirSync(dir).sort()) {
    const f = join(dir, id, RECORD_FILE);
    if (!existsSync(f)) continue;
    try {
      out.push(JSON.parse(readFileSync(f, 'utf8')) as RunRecord);
    } catch {
      // A record is written by rename, so an unreadable one was edited by hand: verify reports it, list skips it.
    }
  }
  // Ids share a second-resolution prefix: order by the millisecond start time.
  return out.sort((a, b) => (a.started_at < b.started_at ? -1 : a.started_at > b.started_at ? 1 : a.run_id < b.run_id ? -1 : 1));
}

/** A running record whose mlcube process is gone was killed (SIGKILL, power loss): it never finished. */
export function shownStatus(r: RunRecord, isAlive: (pid: number) => boolean = pidAlive): ShownStatus {
  return r.status === 'running' && !isAlive(r.pid) ? 'killed' : r.status;
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A run by id or unique id prefix (or `latest`). */
export function findRun(workspace: string, id: string): RunRecord {
  const runs = loadRuns(workspace);
  if (id === 'latest' && runs.length) return runs[runs.length - 1];
  const exact = runs.find((r) => r.run_id === id);
  if (exact) return exact;
  const hits = runs.filter((r) => r.run_id.startsWith(id) || r.run_id.endsWith(id));
  if (hits.length === 1) return hits[0];
  throw new UsageError(
    hits.length ? `run id "${id}" is ambiguous in ${runsDir(workspace)} (${hits.map((r) => r.run_id).join(', ')})` : `no run "${id}" in ${runsDir(workspace)} (${runs.length} run(s) there)`,
    { suggestions: [runs.length ? 'List them with `mlcube runs list --workspace=...` and pass a full id.' : 'Pass the --workspace the run used.'] },
  );
}
