import { nodeCrypto } from './crypto.js';
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, statSync, type Dirent, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { DigestMemo } from './digest-memo.js';

/** Name of the directory-digest algorithm below; stored next to every tree digest so it can be recomputed. */
export const TREE_ALGORITHM = 'mlcube-tree-v1';
const CHUNK = 4 * 1024 * 1024;
// O_NONBLOCK: opening a FIFO (or a device) that was swapped in after we looked must return at once, not wait for a
// writer; it changes nothing for reads of regular files. Each fd is fstat-ed and dropped unless it is a regular file.
const OPEN_FOLLOW = constants.O_RDONLY | constants.O_NONBLOCK;
// Inside a tree nothing is followed: a file swapped for a link fails with ELOOP instead of opening the target.
const OPEN_ENTRY = OPEN_FOLLOW | constants.O_NOFOLLOW;

/** One entry of a directory's manifest, in traversal order. */
export interface TreeEntry {
  /** Relative to the directory, `/`-separated. */
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  /** Files: sha256 of the content; symlinks: sha256 of the link target text (links are never followed). */
  sha256?: string;
  size?: number;
}

export interface PathDigest {
  /**
   * The parameter's own path is followed when it is a link to a file or directory; `symlink` is a link that leads
   * nowhere (dangling, or a loop), `other` a FIFO, socket or device (never opened).
   */
  type: 'file' | 'directory' | 'missing' | 'symlink' | 'other';
  /** Files: sha256 of the bytes; directories: the mlcube-tree-v1 digest; symlinks: sha256 of the link text. */
  sha256?: string;
  size?: number;
  /** Directories only. */
  entries?: TreeEntry[];
}

export interface ManifestOptions {
  /** Leaves an entry out of the manifest (a directory with everything below it); `relPath` is `/`-separated. */
  exclude?: (relPath: string, type: TreeEntry['type']) => boolean;
  /** Digests of files whose stat is unchanged since they were hashed (src/provenance/digest-memo.ts); none: every byte is read. */
  memo?: DigestMemo;
}

/** A manifest that does not re-serialise to exactly its own bytes. */
export class ManifestError extends Error {
  constructor(
    readonly line: number,
    detail: string,
  ) {
    super(`manifest line ${line}: ${detail}`);
    this.name = 'ManifestError';
  }
}

/** sha256 (hex) of bytes in memory. */
export const sha256Hex = (data: Buffer): string => {
  const c = nodeCrypto();
  // One-shot crypto.hash (Node >= 20.12) skips a Hash object per file: ~15 % of the time on a tree of small files.
  return typeof c.hash === 'function' ? c.hash('sha256', data, 'hex') : c.createHash('sha256').update(data).digest('hex');
};

/** Errors of the file system name the path and keep the cause: the caller reports them as the run's failure. */
const cannot = (what: string, path: string, e: unknown): Error => new Error(`cannot ${what} ${path}: ${(e as Error).message}`, { cause: e });
const code = (e: unknown): string | undefined => (e as NodeJS.ErrnoException).code;

const linkDigest = (path: string): string => {
  try {
    // The link text's raw bytes: a target that is not UTF-8 still hashes to what is on disk.
    return sha256Hex(readlinkSync(path, { encoding: 'buffer' }));
  } catch (e) {
    throw cannot('read the link', path, e);
  }
};

/**
 * Returns a function that, awaited once per file or chunk, hands the event loop a turn every ~10 ms: the hashing
 * below reads synchronously (measured: 3-5x faster than libuv-threadpool reads of small files on 2 cores), and
 * signals (SIGINT) and the runner's I/O must not wait for a whole tree.
 */
function yielder(): () => Promise<void> | undefined {
  let last = performance.now();
  return () => {
    const now = performance.now();
    if (now - last < 10) return undefined;
    last = now;
    return new Promise<void>((r) => setImmediate(r)).then(() => void (last = performance.now()));
  };
}

/** Reads until `buffer` is full or EOF; returns the bytes read. */
function readFull(fd: number, buffer: Buffer): number {
  let n = 0;
  for (let r; n < buffer.length && (r = readSync(fd, buffer, n, buffer.length - n, null)) > 0;) n += r;
  return n;
}

/**
 * sha256 of an open regular file, read to EOF through `buffer` (a file that fits is hashed in one shot; a larger one
 * streams chunk by chunk, never whole in memory).
 */
async function hashFd(fd: number, buffer: Buffer, tick: () => Promise<void> | undefined): Promise<{ sha256: string; size: number }> {
  let n = readFull(fd, buffer);
  if (n < buffer.length) return { sha256: sha256Hex(buffer.subarray(0, n)), size: n };
  const h = nodeCrypto().createHash('sha256');
  let size = 0;
  do {
    h.update(buffer.subarray(0, n));
    size += n;
    await tick();
    n = readFull(fd, buffer);
  } while (n > 0);
  return { sha256: h.digest('hex'), size };
}

/**
 * Opens `path` without blocking and hashes it when the fd is a regular file; anything else is closed unread.
 * Returns 'symlink' when `flags` has O_NOFOLLOW and the path is a link.
 */
async function hashPath(path: string, flags: number, buffer: Buffer, tick: () => Promise<void> | undefined, memo?: DigestMemo): Promise<{ sha256: string; size: number } | 'symlink' | 'other'> {
  let fd: number;
  try {
    fd = openSync(path, flags);
  } catch (e) {
    if (code(e) === 'ELOOP' && flags & constants.O_NOFOLLOW) return 'symlink';
    throw cannot('open', path, e);
  }
  try {
    if (!memo) return fstatSync(fd).isFile() ? await hashFd(fd, buffer, tick) : 'other';
    const before = fstatSync(fd, { bigint: true });
    if (!before.isFile()) return 'other';
    const known = memo.get(path, before);
    if (known) return { sha256: known, size: Number(before.size) };
    const h = await hashFd(fd, buffer, tick);
    memo.put(path, before, fstatSync(fd, { bigint: true }), h.sha256);
    return h;
  } catch (e) {
    throw cannot('read', path, e);
  } finally {
    closeSync(fd);
  }
}

/** sha256 of a regular file, read in 4 MiB chunks into one reused buffer (never the whole file in memory). */
export async function sha256File(path: string, buffer: Buffer = Buffer.allocUnsafe(CHUNK)): Promise<{ sha256: string; size: number }> {
  const r = await hashPath(path, OPEN_FOLLOW, buffer, yielder());
  if (typeof r === 'string') throw new Error(`cannot hash ${path}: not a regular file`);
  return r;
}

/** UTF-8 byte order of names (= code point order; JS `<` compares UTF-16 units, which differs above U+FFFF). */
const byBytes = (a: Dirent, b: Dirent) => Buffer.compare(Buffer.from(a.name, 'utf8'), Buffer.from(b.name, 'utf8'));

const direntType = (d: Dirent): TreeEntry['type'] => (d.isSymbolicLink() ? 'symlink' : d.isDirectory() ? 'dir' : d.isFile() ? 'file' : 'other');

/**
 * Lists a directory; a name that is not valid UTF-8 would be recorded under a lossy, maybe duplicate path: refused.
 * (Node lists by path, not by fd: a directory swapped for a link after its parent was listed would be followed.)
 */
function list(abs: string): Dirent[] {
  let ds: Dirent[];
  try {
    ds = readdirSync(abs, { withFileTypes: true });
  } catch (e) {
    throw cannot('list', abs, e);
  }
  if (ds.some((d) => d.name.includes('\ufffd'))) {
    const raw = readdirSync(abs, { encoding: 'buffer' }).find((b) => !Buffer.from(b.toString('utf8'), 'utf8').equals(b));
    if (raw) throw new Error(`cannot digest ${abs}: the name ${JSON.stringify(raw.toString('utf8'))} is not valid UTF-8`);
  }
  return ds.sort(byBytes);
}

/**
 * Manifest of a directory tree (mlcube-tree-v1): depth-first, siblings in UTF-8 byte order of their names,
 * every file, directory (empty ones included) and symlink (not followed); see README "Digests". Anything that
 * cannot be read throws, naming the path: a manifest never silently leaves an entry out.
 */
export async function treeManifest(dir: string, opts: ManifestOptions = {}): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  const buffer = Buffer.allocUnsafe(CHUNK);
  const tick = yielder();
  const walk = async (abs: string, rel: string): Promise<void> => {
    for (const d of list(abs)) {
      const p = join(abs, d.name);
      const r = rel ? `${rel}/${d.name}` : d.name;
      const type = direntType(d);
      if (opts.exclude?.(r, type)) continue;
      if (type === 'dir') {
        out.push({ path: r, type });
        await walk(p, r);
      } else if (type === 'file') {
        // The listing may be stale: what is opened is checked again (a link -> symlink, a FIFO swapped in -> other).
        const h = await hashPath(p, OPEN_ENTRY, buffer, tick, opts.memo);
        out.push(h === 'symlink' ? { path: r, type: h, sha256: linkDigest(p) } : h === 'other' ? { path: r, type: h } : { path: r, type, ...h });
        await tick();
      } else out.push(type === 'symlink' ? { path: r, type, sha256: linkDigest(p) } : { path: r, type });
    }
  };
  await walk(dir, '');
  return out;
}

/** The line of one manifest entry: `<F|D|L|O> <sha256 or -> <size or -> <JSON-quoted path>\n`. */
export function manifestLine(e: TreeEntry): string {
  const kind = { file: 'F', dir: 'D', symlink: 'L', other: 'O' }[e.type];
  return `${kind} ${e.sha256 ?? '-'} ${e.type === 'file' ? e.size : '-'} ${JSON.stringify(e.path)}\n`;
}

/** The manifest's text, the concatenated lines; its UTF-8 sha256 is the tree digest. */
export function manifestText(entries: readonly TreeEntry[]): string {
  return entries.map(manifestLine).join('');
}

/** Tree digest: sha256 over the concatenated manifest lines (UTF-8). */
export function treeDigest(entries: readonly TreeEntry[]): string {
  const h = nodeCrypto().createHash('sha256');
  for (const e of entries) h.update(manifestLine(e), 'utf8');
  return h.digest('hex');
}

const LINE = /^([FDLO]) (-|[0-9a-f]{64}) (-|0|[1-9][0-9]*) (".*")$/s;
const KINDS = { F: 'file', D: 'dir', L: 'symlink', O: 'other' } as const;

/** Canonical order: segment by segment, each in UTF-8 byte order, a parent before its children. */
function comparePaths(a: string[], b: string[]): number {
  for (let i = 0; i < a.length && i < b.length; i++) {
    const c = Buffer.compare(Buffer.from(a[i], 'utf8'), Buffer.from(b[i], 'utf8'));
    if (c) return c;
  }
  return a.length - b.length;
}

/**
 * Parses a manifest's text back into entries, failing closed: every line must be exactly what manifestLine writes,
 * and the lines exactly what treeManifest could list (canonical order, each entry inside a listed directory), so
 * `manifestText(parseManifest(t)) === t` whenever it returns. Throws ManifestError otherwise. (Check the file's
 * bytes against the recorded digest before decoding it: invalid UTF-8 decodes lossily.)
 */
export function parseManifest(text: string): TreeEntry[] {
  const out: TreeEntry[] = [];
  if (text === '') return out;
  const lines = text.split('\n');
  if (lines.pop() !== '') throw new ManifestError(lines.length + 1, 'expected the line to end with "\\n"');
  const dirs = new Set<string>();
  let prev: string[] | undefined;
  for (const [i, line] of lines.entries()) {
    const n = i + 1;
    const m = LINE.exec(line);
    if (!m) throw new ManifestError(n, 'expected `<F|D|L|O> <64 lowercase hex or -> <size or -> "<path>"`, single spaces');
    const [, kind, sha, size, quoted] = m as unknown as [string, keyof typeof KINDS, string, string, string];
    const type = KINDS[kind];
    if ((type === 'file' || type === 'symlink') !== (sha !== '-')) throw new ManifestError(n, `expected ${type === 'file' || type === 'symlink' ? 'a sha256' : '"-"'} as the second field of ${kind}`);
    if ((type === 'file') !== (size !== '-')) throw new ManifestError(n, `expected ${type === 'file' ? 'a size' : '"-"'} as the third field of ${kind}`);
    if (type === 'file' && !Number.isSafeInteger(Number(size))) throw new ManifestError(n, 'expected a size below 2^53');
    let path: unknown;
    try {
      path = JSON.parse(quoted);
    } catch {
      throw new ManifestError(n, 'expected the path as one JSON string');
    }
    if (typeof path !== 'string' || JSON.stringify(path) !== quoted) throw new ManifestError(n, 'expected the path as a JSON string in canonical form (JSON.stringify)');
    if (/\p{Surrogate}|\0/u.test(path)) throw new ManifestError(n, 'expected a path without NUL or unpaired surrogates');
    const segs = path.split('/');
    if (segs.some((s) => s === '' || s === '.' || s === '..')) throw new ManifestError(n, `expected a relative path of non-empty segments other than "." and "..", got ${quoted}`);
    if (prev && comparePaths(prev, segs) >= 0) throw new ManifestError(n, `expected ${quoted} after the previous entry (depth-first, UTF-8 byte order, no duplicates)`);
    const parent = segs.slice(0, -1).join('/');
    if (parent && !dirs.has(parent)) throw new ManifestError(n, `expected the directory ${JSON.stringify(parent)} listed before ${quoted}`);
    const e: TreeEntry = type === 'file' ? { path, type, sha256: sha, size: Number(size) } : type === 'symlink' ? { path, type, sha256: sha } : { path, type };
    // Belt and braces: the promise is byte-identical re-serialisation, so check exactly that.
    if (manifestLine(e) !== line + '\n') throw new ManifestError(n, 'expected a line that re-serialises to itself');
    if (type === 'dir') dirs.add(path);
    out.push(e);
    prev = segs;
  }
  return out;
}

/** lstat, or undefined where nothing is there (ENOENT, or a path component that is a file: ENOTDIR). */
function lstatOrMissing(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (e) {
    if (code(e) === 'ENOENT' || code(e) === 'ENOTDIR') return undefined;
    throw cannot('stat', path, e);
  }
}

/**
 * Digest of a parameter's path as it is now: a file, a directory (with its manifest), missing, a link that leads
 * nowhere, or something else (FIFO, socket, device: never opened, so never blocks).
 */
export async function digestPath(path: string, opts: ManifestOptions = {}): Promise<PathDigest> {
  let st = lstatOrMissing(path);
  if (!st) return { type: 'missing' };
  // The parameter's own path is followed when it is a link (the task sees the target); links inside a tree are not.
  if (st.isSymbolicLink()) {
    try {
      st = statSync(path);
    } catch (e) {
      if (code(e) === 'ENOENT' || code(e) === 'ENOTDIR' || code(e) === 'ELOOP') return { type: 'symlink', sha256: linkDigest(path) };
      throw cannot('stat', path, e);
    }
  }
  if (st.isDirectory()) {
    const entries = await treeManifest(path, opts);
    return { type: 'directory', sha256: treeDigest(entries), entries };
  }
  if (!st.isFile()) return { type: 'other' };
  const h = await hashPath(path, OPEN_FOLLOW, Buffer.allocUnsafe(CHUNK), yielder(), opts.memo);
  return typeof h === 'string' ? { type: h } : { type: 'file', ...h };
}
