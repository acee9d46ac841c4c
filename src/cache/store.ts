import { chmodSync, copyFileSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { digestPath, sha256Hex, sha256File } from '../provenance/digest.js';
import type { DigestMemo } from '../provenance/digest-memo.js';
import { mkdirWithMode } from '../atomic-write.js';

const SHA = /^[0-9a-f]{64}$/;

/** One object of the store: its sha256, size and when it was last used (its mtime). */
export interface StoredObject {
  sha256: string;
  bytes: number;
  usedMs: number;
}

const tempName = (path: string) => `${path}.tmp-${process.pid}-${Math.floor(Math.random() * 0x1000000).toString(16)}`;

/**
 * The task cache's content-addressed store of output files (README "Task cache"): `<dir>/sha256/<2 hex>/<62 hex>`,
 * each object named by the sha256 of its bytes. An object is checked against its name whenever it is taken out, so a
 * damaged or swapped one is never restored: it is removed and the task runs again. Writes are temp file + rename.
 */
export class ObjectStore {
  constructor(
    readonly dir: string,
    readonly link: 'copy' | 'hardlink',
  ) {}

  objectPath(sha256: string): string {
    if (!SHA.test(sha256)) throw new Error(`internal: not a sha256: ${sha256}`);
    return join(this.dir, 'sha256', sha256.slice(0, 2), sha256.slice(2));
  }

  has(sha256: string): boolean {
    return statSync(this.objectPath(sha256), { throwIfNoEntry: false })?.isFile() ?? false;
  }

  /** The object is there and still has the bytes its name says (its digest remembered by stat, src/provenance/digest-memo.ts); a damaged one is removed. */
  async verified(sha256: string, memo: DigestMemo | undefined, readOnly = false): Promise<boolean> {
    const d = await digestPath(this.objectPath(sha256), { memo });
    if (d.type === 'file' && d.sha256 === sha256) return true;
    if (d.type !== 'missing' && !readOnly) this.drop(sha256);
    return false;
  }

  /** Adds the regular file at `path`, digested as `sha256`: false (nothing added) when its bytes are no longer those. */
  async putFile(path: string, sha256: string): Promise<boolean> {
    const to = this.objectPath(sha256);
    if (this.has(sha256)) return (this.touch(sha256), true);
    mkdirWithMode(dirname(to));
    const tmp = tempName(to);
    try {
      this.linkOrCopy(path, tmp);
      // The output may have changed since it was digested: only its digested bytes go in.
      if ((await sha256File(tmp)).sha256 !== sha256) return false;
      if (this.link === 'copy') chmodSync(tmp, 0o444);
      renameSync(tmp, to);
      return true;
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  private linkOrCopy(from: string, to: string): void {
    if (this.link === 'hardlink') {
      try {
        return linkSync(from, to);
      } catch {
        // another file system, or links not allowed there: a copy
      }
    }
    copyFileSync(from, to);
  }

  /** Adds bytes (a symbolic link's target) under their sha256. */
  putBytes(data: Buffer): string {
    const sha256 = sha256Hex(data);
    if (this.has(sha256)) return sha256;
    const to = this.objectPath(sha256);
    mkdirWithMode(dirname(to));
    const tmp = tempName(to);
    writeFileSync(tmp, data, { mode: 0o444 });
    renameSync(tmp, to);
    return sha256;
  }

  /** The object's bytes (small objects only: link targets), checked; undefined when missing or damaged. */
  readBytes(sha256: string): Buffer | undefined {
    let data: Buffer;
    try {
      data = readFileSync(this.objectPath(sha256));
    } catch {
      return undefined;
    }
    if (sha256Hex(data) === sha256) return data;
    this.drop(sha256);
    return undefined;
  }

  /**
   * Puts the object at `dest`: a copy (or hard link) made beside it, checked against the object's name, then renamed
   * over `dest`, so `dest` is never half-written. False (dest untouched) when the object is missing or damaged.
   */
  async place(sha256: string, dest: string): Promise<boolean> {
    const from = this.objectPath(sha256);
    if (!this.has(sha256)) return false;
    mkdirSync(dirname(dest), { recursive: true });
    const tmp = tempName(dest);
    try {
      this.linkOrCopy(from, tmp);
      if (this.link === 'copy') chmodSync(tmp, 0o644);
      if ((await sha256File(tmp)).sha256 !== sha256) {
        this.drop(sha256);
        return false;
      }
      renameSync(tmp, dest);
      this.touch(sha256);
      return true;
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  /** Marks the object used now (eviction takes the least recently used first). */
  touch(sha256: string): void {
    const now = new Date();
    try {
      utimesSync(this.objectPath(sha256), now, now);
    } catch {
      // Gone meanwhile (gc): the next use finds it missing.
    }
  }

  drop(sha256: string): void {
    rmSync(this.objectPath(sha256), { force: true });
  }

  /** Every object, with its size and last use; anything else in the store (a temp file left by a crash) is listed in `strays`. */
  list(): { objects: StoredObject[]; strays: string[] } {
    const objects: StoredObject[] = [];
    const strays: string[] = [];
    const root = join(this.dir, 'sha256');
    let fans: string[];
    try {
      fans = readdirSync(root);
    } catch {
      return { objects, strays };
    }
    for (const fan of fans) {
      const d = join(root, fan);
      if (!/^[0-9a-f]{2}$/.test(fan)) {
        strays.push(d);
        continue;
      }
      for (const name of readdirSync(d)) {
        const p = join(d, name);
        const st = lstatSync(p);
        if (st.isFile() && /^[0-9a-f]{62}$/.test(name)) objects.push({ sha256: fan + name, bytes: st.size, usedMs: st.mtimeMs });
        else strays.push(p);
      }
    }
    return { objects, strays };
  }
}
