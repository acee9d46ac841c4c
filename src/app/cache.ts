import type { AppEnv } from './context.js';
import { existingWorkspace, type WhereGiven } from '../config/workspace-location.js';
import { loadSettings, settingsPath } from '../config/settings.js';
import { cacheSettings } from '../cache/settings.js';
import { collectGarbage, type GcReport } from '../cache/gc.js';
import { formatBytes } from '../gates/units.js';

/** `mlcube cache gc` on a workspace's task cache (README "Task cache"). */
export function cacheGc(given: WhereGiven, app: AppEnv): GcReport & { workspace: string } {
  const where = existingWorkspace(given, app);
  const settings = cacheSettings(loadSettings(settingsPath(app.env, app.home)), where.dir, true);
  return { workspace: where.dir, ...collectGarbage(where.dir, settings, app.log) };
}

export function renderGc(r: GcReport & { workspace: string }): string {
  return [
    `cache of ${r.workspace}: store ${r.store}${r.shared ? ' (configured; shared: only its size limit applies)' : ''}`,
    `  entries: ${r.entries_kept} kept, ${r.entries_removed} removed (their run record is gone or no longer matches)`,
    `  objects: ${r.objects_kept} kept (${formatBytes(r.bytes_kept)}), ${r.objects_removed} removed (${formatBytes(r.bytes_removed)}); limit ${formatBytes(r.max_bytes)}`,
  ].join('\n');
}
