import { lstatSync, readlinkSync, statSync } from 'node:fs';
import { join, normalize } from 'node:path';

export type PathKind = 'file' | 'directory' | 'other' | 'missing' | 'loop' | 'not-a-directory' | 'name-too-long' | 'inaccessible';

/** What is at a path (following symlinks). Injected into resolution so it can be tested with tables. */
export interface FsProbe {
  kind(path: string): PathKind;
  /**
   * Where a write to the (absolute, normalised) path would land: every existing component resolved, symbolic links
   * followed (dangling ones too: creating a file through one creates its target), the missing rest appended.
   */
  realTarget(path: string): string;
}

/** Linux's limit on links followed in one lookup (ELOOP after it). */
const MAX_LINKS = 40;

export const realFs: FsProbe = {
  kind(path) {
    try {
      const st = statSync(path);
      return st.isFile() ? 'file' : st.isDirectory() ? 'directory' : 'other';
    } catch (caught) {
      const e = caught as NodeJS.ErrnoException;
      if (e.code === 'ELOOP') return 'loop';
      if (e.code === 'ENOTDIR') return 'not-a-directory';
      if (e.code === 'ENAMETOOLONG') return 'name-too-long';
      if (e.code === 'EACCES' || e.code === 'EPERM') return 'inaccessible';
      return 'missing';
    }
  },
  realTarget(path) {
    // fs.realpathSync fails on a missing or dangling path, which is exactly where an output will be created.
    let todo = path.split('/').filter(Boolean);
    let cur = '/';
    let links = 0;
    while (todo.length) {
      const name = todo.shift()!;
      if (name === '.') continue;
      if (name === '..') {
        cur = normalize(join(cur, '..'));
        continue;
      }
      const next = join(cur, name);
      let link: string | undefined;
      try {
        const st = lstatSync(next);
        if (st.isSymbolicLink()) link = readlinkSync(next);
      } catch {
        return normalize(join(next, ...todo)); // missing from here on
      }
      if (link === undefined) {
        cur = next;
        continue;
      }
      if (++links > MAX_LINKS) return normalize(join(next, ...todo)); // a loop: resolution reports it (kind: loop)
      todo = [...link.split('/').filter(Boolean), ...todo];
      if (link.startsWith('/')) cur = '/';
    }
    return cur;
  },
};
