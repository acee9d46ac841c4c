import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join, isAbsolute } from 'node:path';

/**
 * First executable named `exe` on PATH (or the path itself when absolute), without spawning anything. A PATH entry
 * this user may not look into (EACCES, e.g. /root/... when run as another user) is skipped, as a shell would.
 */
export function which(exe: string, pathVar = process.env.PATH ?? ''): string | undefined {
  const candidates =
    isAbsolute(exe) || exe.includes('/')
      ? [exe]
      : pathVar
          .split(delimiter)
          .filter(Boolean)
          .map((d) => join(d, exe));
  for (const c of candidates) {
    try {
      if (!statSync(c, { throwIfNoEntry: false })?.isFile()) continue;
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // Not ours to run (EACCES, ENOTDIR...): look further along PATH.
    }
  }
  return undefined;
}
