import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { BigIntStats } from 'node:fs';
import { mkdirWithMode, writeFileAtomic } from '../atomic-write.js';

/**
 * File digests remembered by what the file system says of a file (README "Task cache"): its path, device, inode,
 * size, mtime and ctime in nanoseconds. A write, truncate, rename or chmod changes ctime, which a user cannot set back,
 * so a file whose stat is unchanged still has the bytes that were hashed (git's index and DVC's state make the same
 * bet). A file whose ctime is less than RACY_MS old is never remembered: it may still be changing within the
 * timestamp's granularity. `--no-cache` hashes every byte again.
 */
export class DigestMemo {
  private readonly entries = new Map<string, string>();
  private changed = false;

  private constructor(private readonly file: string | undefined) {}

  /** An empty memo kept in memory only. */
  static inMemory(): DigestMemo {
    return new DigestMemo(undefined);
  }

  /** The memo saved at `file` (a missing, unreadable or malformed file is an empty memo: everything is hashed). */
  static load(file: string): DigestMemo {
    const m = new DigestMemo(file);
    try {
      const doc = JSON.parse(readFileSync(file, 'utf8')) as unknown;
      if (doc && typeof doc === 'object' && (doc as { schema?: unknown }).schema === MEMO_SCHEMA) {
        const entries = (doc as { entries?: unknown }).entries;
        if (entries && typeof entries === 'object') {
          for (const [k, v] of Object.entries(entries)) if (typeof v === 'string' && /^[0-9a-f]{64}$/.test(v)) m.entries.set(k, v);
        }
      }
    } catch {
      // No memo yet, or one that cannot be read: nothing is trusted from it.
    }
    return m;
  }

  /** The remembered sha256 of the file at `path` with stat `st` (fstat of the open fd), if its stat is unchanged. */
  get(path: string, st: BigIntStats): string | undefined {
    return this.entries.get(memoKey(path, st));
  }

  /** Remembers `sha256` for the file read from `path`, when its stat before and after reading agree and it is old enough. */
  put(path: string, before: BigIntStats, after: BigIntStats, sha256: string): void {
    const key = memoKey(path, before);
    if (key !== memoKey(path, after)) return;
    if (BigInt(Date.now()) * 1_000_000n - after.ctimeNs < BigInt(RACY_MS) * 1_000_000n) return;
    if (this.entries.get(key) === sha256) return;
    this.entries.set(key, sha256);
    this.changed = true;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Writes the memo back (atomically) when it learnt something; a failure costs only re-hashing next time. */
  save(): void {
    if (!this.file || !this.changed) return;
    try {
      mkdirWithMode(dirname(this.file));
      writeFileAtomic(this.file, JSON.stringify({ schema: MEMO_SCHEMA, entries: Object.fromEntries(this.entries) }), 0o644, false);
      this.changed = false;
    } catch {
      // Best effort by design (see above).
    }
  }
}

const MEMO_SCHEMA = 'mlcube-digest-memo/v1';
/** Files changed less than this long ago are hashed every time. */
export const RACY_MS = 2000;

const memoKey = (path: string, st: BigIntStats) => `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}:${path}`;
