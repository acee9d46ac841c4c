import { chmodSync, closeSync, fchmodSync, fsyncSync, mkdirSync, openSync, renameSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Creates `dir` and any missing parents with exactly `mode`, whatever the umask (mkdir's mode is masked by it:
 * under `umask 000` a plain mkdir makes 0777 directories). Existing directories are left as they are.
 */
export function mkdirWithMode(dir: string, mode = 0o755): void {
  if (statSync(dir, { throwIfNoEntry: false })?.isDirectory()) return;
  const parent = dirname(dir);
  if (parent !== dir) mkdirWithMode(parent, mode);
  try {
    mkdirSync(dir, { mode });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return;
  }
  chmodSync(dir, mode);
}

/**
 * Writes a file atomically: a temp file beside it with exactly `mode` (fchmod: the umask does not apply), fsync
 * (unless !durable), rename over the target (readers never see half a file). Missing parents get `dirMode`.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644, durable = true, dirMode = 0o755): void {
  mkdirWithMode(dirname(path), dirMode);
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(16).slice(2)}`;
  const fd = openSync(tmp, 'wx', mode);
  try {
    fchmodSync(fd, mode);
    if (typeof data === 'string') writeSync(fd, data);
    else writeSync(fd, data);
    if (durable) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
