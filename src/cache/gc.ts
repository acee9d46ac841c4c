import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { readManifests, runsDir } from '../provenance/store.js';
import { manifestKey } from '../provenance/record.js';
import type { ObjectStore, StoredObject } from './store.js';
import type { CacheSettings } from './settings.js';
import { entriesDir, entryRecord, readEntry } from './entries.js';
import { ObjectStore as Store } from './store.js';

/** What `mlcube cache gc` did (README "Task cache"). */
export interface GcReport {
  store: string;
  shared: boolean;
  max_bytes: number;
  entries_kept: number;
  entries_removed: number;
  objects_kept: number;
  objects_removed: number;
  bytes_kept: number;
  bytes_removed: number;
}

/**
 * Removes the least recently used objects until the store holds at most `maxBytes`. An entry whose objects went is
 * a miss next time (the task runs again), never a wrong restore.
 */
export function enforceLimit(store: ObjectStore, maxBytes: number, log: Logger): { removed: StoredObject[] } {
  const { objects } = store.list();
  let total = objects.reduce((n, o) => n + o.bytes, 0);
  const removed: StoredObject[] = [];
  if (total <= maxBytes) return { removed };
  for (const o of objects.sort((a, b) => a.usedMs - b.usedMs)) {
    if (total <= maxBytes) break;
    store.drop(o.sha256);
    total -= o.bytes;
    removed.push(o);
  }
  log.info(`cache store ${store.dir}: removed ${removed.length} least recently used object(s) to stay within ${maxBytes} bytes`);
  return { removed };
}

/**
 * `mlcube cache gc`: drops the entries whose run record is gone (e.g. `runs delete`) or no longer matches, then,
 * for a store of the workspace's own, every object no remaining entry needs, then enforces the size limit. A
 * configured (shared) store may hold other workspaces' objects: there only the size limit applies.
 */
export function collectGarbage(workspace: string, settings: CacheSettings, log: Logger): GcReport {
  const store = new Store(settings.storeDir, settings.link);
  const needed = new Set<string>();
  let kept = 0;
  let removedEntries = 0;
  let names: string[] = [];
  try {
    names = readdirSync(entriesDir(workspace));
  } catch {
    // no entries yet
  }
  for (const name of names) {
    const file = join(entriesDir(workspace), name);
    const e = name.endsWith('.json') ? readEntry(file) : undefined;
    const record = e && `${e.key}.json` === name ? entryRecord(workspace, e) : undefined;
    const manifests = record ? readManifests(join(runsDir(workspace), record.run_id), record) : undefined;
    if (!record || !manifests || manifests.problems.length) {
      rmSync(file, { force: true });
      removedEntries++;
      continue;
    }
    kept++;
    for (const p of record.parameters) {
      if (p.io !== 'output' || !p.digest) continue;
      if (p.found === 'file') needed.add(p.digest.sha256);
      for (const m of manifests.manifests.get(manifestKey(p)) ?? []) if (m.sha256 && m.type !== 'dir') needed.add(m.sha256);
    }
  }
  const { objects, strays } = store.list();
  for (const s of strays) rmSync(s, { recursive: true, force: true });
  let removed = settings.shared ? [] : objects.filter((o) => !needed.has(o.sha256));
  for (const o of removed) store.drop(o.sha256);
  removed = [...removed, ...enforceLimit(store, settings.maxBytes, log).removed];
  const left = store.list().objects;
  return {
    store: settings.storeDir,
    shared: settings.shared,
    max_bytes: settings.maxBytes,
    entries_kept: kept,
    entries_removed: removedEntries,
    objects_kept: left.length,
    objects_removed: removed.length,
    bytes_kept: left.reduce((n, o) => n + o.bytes, 0),
    bytes_removed: removed.reduce((n, o) => n + o.bytes, 0),
  };
}
