import { closeSync, lstatSync, mkdirSync, openSync, readdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DecryptError, UsageError } from '../errors.js';

/**
 * A directory as the plaintext of an encrypted file: an uncompressed tar stream (the tar package) of its regular
 * files and directories, and back. Only those two kinds go in and come out: a link, a device or anything else is
 * refused when encrypting, and any other entry, a path that is absolute, holds `..` or names an entry twice is
 * refused when decrypting (fail closed: nothing else can land outside the destination).
 */

/** Every entry under `dir`, parents before children, in a stable order; refuses what is neither a file nor a directory. */
export function treeEntries(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(dir, r));
      if (st.isDirectory()) {
        out.push(`${r}/`);
        walk(r);
      } else if (st.isFile()) out.push(r);
      else
        throw new UsageError(`${join(dir, r)} is ${st.isSymbolicLink() ? 'a symbolic link' : 'neither a regular file nor a directory'}; only regular files and directories are encrypted`, {
          suggestions: ['Replace it by the file or directory it stands for, or move it out of the directory to encrypt.'],
        });
    }
  };
  walk('');
  return out;
}

/** The tar stream of `dir`. */
export async function packTree(dir: string): Promise<AsyncIterable<Buffer>> {
  const entries = treeEntries(dir).map((e) => e.replace(/\/$/, ''));
  // Loaded here: only encrypting a directory needs it (the CLI's start-up does not load tar).
  const tar = await import('tar');
  // noDirRecurse: each directory is listed once above; follow: false: a file swapped for a link meanwhile goes in as a link, which decrypt refuses.
  // The archive starts with the root, "./" (a tar stream of no entry at all is not one the parser accepts).
  return tar.create({ cwd: dir, portable: true, noDirRecurse: true, follow: false, strict: true }, ['.', ...entries]) as unknown as AsyncIterable<Buffer>;
}

/** The first entry of the archive: the directory itself. */
const ROOT = './';

/** The relative path of a tar entry, or why it may not be unpacked. */
export function safeEntryPath(path: string, type: string): string {
  if (type !== 'File' && type !== 'OldFile' && type !== 'Directory') throw new Error(`is a ${type} entry; only files and directories are unpacked`);
  const p = type === 'Directory' ? path.replace(/\/$/, '') : path;
  if (p.includes('\0')) throw new Error('has a NUL byte in its path');
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p)) throw new Error('has an absolute path');
  const parts = p.split('/');
  if (parts.some((s) => s === '' || s === '.' || s === '..')) throw new Error('has an empty, "." or ".." path segment');
  return p;
}

/**
 * Unpacks the tar stream `plaintext` into the new, empty directory `root`: files mode 0600, directories 0700 (only
 * the owner reads plaintext; modes are not carried). `src` names the encrypted file in messages.
 */
export async function unpackTree(plaintext: AsyncIterable<Buffer>, root: string, src: string): Promise<{ files: number; directories: number }> {
  const tar = await import('tar');
  const seen = new Set<string>();
  const counts = { files: 0, directories: 0 };
  let failure: Error | undefined;
  let stop: () => void = () => {};
  // Settles at the first failure: nothing waits on the parser after it (a parser that failed may never drain or close).
  const stopped = new Promise<void>((r) => (stop = r));
  const fail = (e: unknown, entry?: string) => {
    const detail = (e as Error).message;
    stop();
    failure ??=
      e instanceof DecryptError
        ? e
        : new DecryptError(`${entry === undefined ? 'its archive' : `the archive entry ${JSON.stringify(entry)}`} ${entry === undefined ? `is not a valid tar stream (${detail})` : detail}`, {
            place: { file: src },
            suggestions: ['The archive authenticated, so whoever holds the key wrote it so: ask them to encrypt the directory again with `mlcube encrypt`.'],
          });
  };
  const open = new Set<number>();
  const parser = new tar.Parser({ strict: true });
  parser.on('error', (e) => fail(e));
  parser.on('entry', (entry) => {
    if (failure) return entry.resume();
    if (entry.path === ROOT && entry.type === 'Directory' && !seen.has(ROOT)) return (seen.add(ROOT), entry.resume());
    let rel: string;
    try {
      rel = safeEntryPath(entry.path, entry.type);
      if (seen.has(rel)) throw new Error('appears twice');
      seen.add(rel);
    } catch (e) {
      fail(e, entry.path);
      return entry.resume();
    }
    const target = join(root, rel);
    try {
      if (entry.type === 'Directory') {
        mkdirSync(target, { recursive: true, mode: 0o700 });
        counts.directories++;
        return entry.resume();
      }
      mkdirSync(join(target, '..'), { recursive: true, mode: 0o700 });
      const fd = openSync(target, 'wx', 0o600);
      open.add(fd);
      counts.files++;
      entry.on('data', (c: Buffer) => {
        try {
          if (!failure) writeSync(fd, c);
        } catch (e) {
          fail(e, entry.path);
        }
      });
      entry.on('end', () => open.delete(fd) && closeSync(fd));
    } catch (e) {
      fail(e, entry.path);
      entry.resume();
    }
  });
  const ended = new Promise<void>((resolve) => parser.on('close', () => resolve()));
  try {
    for await (const piece of plaintext) {
      if (failure) break;
      if (!parser.write(piece)) await Promise.race([new Promise((r) => parser.once('drain', r)), stopped]);
    }
    if (!failure) parser.end();
    await Promise.race([ended, stopped]);
  } finally {
    for (const fd of open) closeSync(fd);
  }
  if (failure) throw failure;
  return counts;
}
