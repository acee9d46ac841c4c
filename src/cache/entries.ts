import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../atomic-write.js';
import type { RunRecord } from '../provenance/record.js';
import { readRecord, runsDir } from '../provenance/store.js';
import { cacheDir } from './settings.js';

/**
 * The task cache's entries (README "Task cache"): `<workspace>/.mlcube/cache/entries/<key>.json` names the run
 * whose outputs a key gives. The outputs themselves are what that run's record says (digests and manifests); the
 * entry is only an index, so a forged or stale one can at most name a run whose record must still check out.
 */
export interface CacheEntry {
  key: string;
  task: string;
  run_id: string;
}

const ENTRY_SCHEMA = 'mlcube-cache-entry/v1';
export const entriesDir = (workspace: string) => join(cacheDir(workspace), 'entries');
export const entryFile = (workspace: string, key: string) => join(entriesDir(workspace), `${key}.json`);

/** An entry as read from disk; anything of another shape is not one (undefined: a miss). */
export function readEntry(file: string): CacheEntry | undefined {
  try {
    const e = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    if (e.schema !== ENTRY_SCHEMA || typeof e.key !== 'string' || typeof e.task !== 'string' || typeof e.run_id !== 'string') return undefined;
    if (!/^[0-9a-f]{64}$/.test(e.key) || !/^[A-Za-z0-9_.-]+$/.test(e.run_id) || e.run_id.startsWith('.')) return undefined;
    return { key: e.key, task: e.task, run_id: e.run_id };
  } catch {
    return undefined;
  }
}

export function writeEntry(workspace: string, e: CacheEntry): void {
  writeFileAtomic(entryFile(workspace, e.key), JSON.stringify({ schema: ENTRY_SCHEMA, ...e, created_at: new Date().toISOString() }) + '\n', 0o644, false);
}

/** The record an entry names, when it is still the succeeded run of that key (else undefined: a miss, and gc drops it). */
export function entryRecord(workspace: string, e: CacheEntry): RunRecord | undefined {
  const r = readRecord(join(runsDir(workspace), e.run_id)).record;
  return r && r.run_id === e.run_id && r.task === e.task && r.status === 'succeeded' && r.cache?.key === e.key ? r : undefined;
}
