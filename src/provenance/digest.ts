import { nodeCrypto } from './crypto.js';
import { lstatSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';

/** Name of the directory-digest algorithm below; stored next to every tree digest so it can be recomputed. */
export const TREE_ALGORITHM = 'mlcube-tree-v1';
const CHUNK = 4 * 1024 * 1024;

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
  type: 'file' | 'directory' | 'missing';
  /** Files: sha256 of the bytes; directories: the mlcube-tree-v1 digest. */
  sha256?: string;
  size?: number;
  /** Directories only. */
  entries?: TreeEntry[];
}

/** sha256 of a file, read in 4 MiB chunks into one reused buffer (never the whole file in memory). */
export async function sha256File(path: string, buffer: Buffer = Buffer.allocUnsafe(CHUNK)): Promise<{ sha256: string; size: number }> {
  const h = nodeCrypto().createHash('sha256');
  const fh = await open(path, 'r');
  // Small files need no 4 MiB buffer.
  if (buffer.length > 65536) {
    const size = (await fh.stat()).size;
    if (size < 65536) buffer = buffer.subarray(0, Math.max(1, size + 1));
  }
  let size = 0;
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      h.update(bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead));
      size += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return { sha256: h.digest('hex'), size };
}

const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

/**
 * Manifest of a directory tree (mlcube-tree-v1): depth-first, siblings in UTF-8 byte order of their names,
 * every file, directory (empty ones included) and symlink (not followed); see README "Digests".
 */
export async function treeManifest(dir: string, opts: { exclude?: (relPath: string, type: TreeEntry['type']) => boolean } = {}): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  const buffer = Buffer.allocUnsafe(CHUNK);
  const walk = async (abs: string, rel: string): Promise<void> => {
    for (const name of readdirSync(abs).sort(byBytes)) {
      const p = join(abs, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(p);
      if (opts.exclude?.(r, st.isDirectory() ? 'dir' : 'file')) continue;
      if (st.isSymbolicLink()) out.push({ path: r, type: 'symlink', sha256: nodeCrypto().createHash('sha256').update(readlinkSync(p, 'utf8'), 'utf8').digest('hex') });
      else if (st.isDirectory()) {
        out.push({ path: r, type: 'dir' });
        await walk(p, r);
      } else if (st.isFile()) out.push({ path: r, type: 'file', ...(await sha256File(p, buffer)) });
      else out.push({ path: r, type: 'other' });
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

/** Tree digest: sha256 over the concatenated manifest lines (UTF-8). */
export function treeDigest(entries: TreeEntry[]): string {
  const h = nodeCrypto().createHash('sha256');
  for (const e of entries) h.update(manifestLine(e), 'utf8');
  return h.digest('hex');
}

/** Digest of a parameter's path as it is now: a file, a directory (with its manifest) or missing. */
export async function digestPath(path: string): Promise<PathDigest> {
  // The parameter's own path is followed when it is a link (the task sees the target); links inside a tree are not.
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return { type: 'missing' };
  if (st.isDirectory()) {
    const entries = await treeManifest(path);
    return { type: 'directory', sha256: treeDigest(entries), entries };
  }
  const f = await sha256File(path);
  return { type: 'file', ...f };
}

/** A manifest that is not exactly what manifestText would write. */
export class ManifestError extends Error {}

/** The manifest file's text (its sha256 is the tree digest). */
export const manifestText = (entries: readonly TreeEntry[]) => entries.map(manifestLine).join('');

/** Strict inverse of manifestText (TEMPORARY minimal version). */
export function parseManifest(text: string): TreeEntry[] {
  const out: TreeEntry[] = [];
  if (text === '') return out;
  if (!text.endsWith('\n')) throw new ManifestError('the manifest does not end with a newline');
  text.slice(0, -1).split('\n').forEach((line, i) => {
    const m = /^([FDLO]) (-|[0-9a-f]{64}) (-|[0-9]+) (".*")$/.exec(line);
    if (!m) throw new ManifestError(`line ${i + 1}: not "<F|D|L|O> <sha256|-> <size|-> <JSON path>"`);
    let path: unknown;
    try { path = JSON.parse(m[4]); } catch { throw new ManifestError(`line ${i + 1}: the path is not a JSON string`); }
    const type = ({ F: 'file', D: 'dir', L: 'symlink', O: 'other' } as const)[m[1] as 'F'];
    const e: TreeEntry = { path: path as string, type, ...(m[2] !== '-' ? { sha256: m[2] } : {}), ...(m[3] !== '-' ? { size: Number(m[3]) } : {}) };
    if (manifestLine(e) !== line + '\n') throw new ManifestError(`line ${i + 1}: not in canonical form`);
    out.push(e);
  });
  return out;
}
