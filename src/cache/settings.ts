import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import type { SystemSettings } from '../config/settings.js';
import { isTree } from '../config/tree.js';
import { parseSize } from '../gates/units.js';
import { RECORDS_DIR } from '../params/isolation.js';

/** How the task cache works for a run (README "Task cache"), parsed once from the settings file's `cache:` section. */
export interface CacheSettings {
  /** false with --no-cache: every task runs, nothing is restored, every byte is hashed again. */
  enabled: boolean;
  /** The store of outputs (content-addressed). */
  storeDir: string;
  /** The store was configured elsewhere than the workspace: other workspaces may use its objects too. */
  shared: boolean;
  maxBytes: number;
  link: 'copy' | 'hardlink';
}

export const DEFAULT_MAX_BYTES = 10 * 2 ** 30;

/** `<workspace>/.mlcube/cache`: the workspace's cache entries, its digest memo and (by default) its store. */
export const cacheDir = (workspace: string) => join(workspace, RECORDS_DIR, 'cache');

export function cacheSettings(settings: SystemSettings, workspace: string, enabled: boolean): CacheSettings {
  const section = isTree(settings.data.cache) ? settings.data.cache : {};
  const place = (key: string) => (settings.source?.holds(['cache', key]) ? settings.source.place(['cache', key]) : { file: settings.file });
  let maxBytes = DEFAULT_MAX_BYTES;
  const max = section.max_size;
  if (max !== undefined && max !== null) {
    const n = typeof max === 'number' ? max : parseSize(String(max));
    if (n === undefined || !Number.isSafeInteger(n) || n < 0) {
      throw new ConfigError(`cache.max_size: ${JSON.stringify(max)} is not a size`, {
        place: place('max_size'),
        suggestions: ['Give bytes or a size with a unit, e.g. max_size: 20GB or max_size: 512MiB.'],
      });
    }
    maxBytes = n;
  }
  const dir = typeof section.dir === 'string' ? resolve(dirname(settings.file), section.dir) : undefined;
  return {
    enabled,
    storeDir: dir ?? join(cacheDir(workspace), 'store'),
    shared: dir !== undefined,
    maxBytes,
    link: section.link === 'hardlink' ? 'hardlink' : 'copy',
  };
}
