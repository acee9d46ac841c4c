import { readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { isTrashName, runsDir, TRASH_PREFIX } from './store.js';

/**
 * Deleting a run directory in two steps: an atomic rename to `<runs>/.deleting-<run_id>` (after it, no command
 * sees the run: every reader skips those names), then the removal of the tree. A crash in between leaves only a
 * `.deleting-*` directory, which the next `runs delete` or `runs list` removes; never half a run that still reads
 * as one.
 */
export function moveToTrash(workspace: string, runId: string): string {
  const to = join(runsDir(workspace), `${TRASH_PREFIX}${runId}`);
  renameSync(join(runsDir(workspace), runId), to);
  return to;
}

/** Removes every `.deleting-*` directory of the workspace; best effort (what cannot be removed now is a warning). */
export function emptyTrash(workspace: string, log: Logger): void {
  let names: string[];
  try {
    names = readdirSync(runsDir(workspace)).filter(isTrashName);
  } catch {
    return; // no runs directory: nothing to remove
  }
  for (const name of names) {
    try {
      rmSync(join(runsDir(workspace), name), { recursive: true, force: true });
      log.debug(`removed ${join(runsDir(workspace), name)} (a deleted run's directory)`);
    } catch (e) {
      log.warn(`could not remove ${join(runsDir(workspace), name)}, a deleted run's directory: ${(e as Error).message} (it is ignored; a later \`mlcube runs delete\` retries)`);
    }
  }
}
