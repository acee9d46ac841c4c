import { statSync } from 'node:fs';
import { delimiter, join, isAbsolute } from 'node:path';

/** First executable named `exe` on PATH (or the path itself when absolute), without spawning anything. */
export function which(exe: string, pathVar = process.env.PATH ?? ''): string | undefined {
  const candidates = isAbsolute(exe) || exe.includes('/') ? [exe] : pathVar.split(delimiter).filter(Boolean).map((d) => join(d, exe));
  for (const c of candidates) {
    const st = statSync(c, { throwIfNoEntry: false });
    if (st?.isFile() && st.mode & 0o111) return c;
  }
  return undefined;
}
