import { statSync } from 'node:fs';

export type PathKind = 'file' | 'directory' | 'other' | 'missing' | 'loop' | 'not-a-directory' | 'name-too-long' | 'inaccessible';

/** What is at a path (following symlinks). Injected into resolution so it can be tested with tables. */
export interface FsProbe {
  kind(path: string): PathKind;
}

export const realFs: FsProbe = {
  kind(path) {
    try {
      const st = statSync(path);
      return st.isFile() ? 'file' : st.isDirectory() ? 'directory' : 'other';
    } catch (e: any) {
      if (e.code === 'ELOOP') return 'loop';
      if (e.code === 'ENOTDIR') return 'not-a-directory';
      if (e.code === 'ENAMETOOLONG') return 'name-too-long';
      if (e.code === 'EACCES' || e.code === 'EPERM') return 'inaccessible';
      return 'missing';
    }
  },
};
