import type { KeyObject } from 'node:crypto';
import { closeSync, createReadStream, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join, relative, isAbsolute } from 'node:path';
import { UsageError } from '../errors.js';
import { nodeCrypto } from '../provenance/crypto.js';
import { DEFAULT_CHUNK_SIZE, type Kind, type KeyMode } from './format.js';
import { recipientSealer, type Opener, type Sealer } from './keys.js';
import { openStream, sealStream } from './stream.js';
import { packTree, unpackTree } from './tree.js';

/**
 * Encrypting and decrypting paths (a file, or a directory as a tar stream) through temp siblings: the destination
 * appears whole, by rename, or not at all. A decryption is renamed into place only once every chunk authenticated.
 */
export interface CryptResult {
  src: string;
  dst: string;
  kind: Kind;
  key_mode: KeyMode;
  key_fingerprint: string;
  /** sha256 (hex) of the ciphertext: what a record may hold of an encrypted file. */
  ciphertext_sha256: string;
}

/** Temp siblings start so: `.NAME.mlcube-crypt-XXXXXXXX` (plaintext of a decryption killed midway can be found by it). */
export const TEMP_MARK = '.mlcube-crypt-';
const tempSibling = (dst: string) => join(dirname(dst), `.${basename(dst)}${TEMP_MARK}${nodeCrypto().randomBytes(4).toString('hex')}`);

const exists = (p: string) => statSync(p, { throwIfNoEntry: false }) !== undefined;

function refuseExisting(dst: string, force: boolean): void {
  if (!force && exists(dst)) throw new UsageError(`the destination ${dst} exists`, { suggestions: ['Pass --force to replace it (only once the new one is complete), or choose another destination.'] });
  if (!statSync(dirname(dst), { throwIfNoEntry: false })?.isDirectory())
    throw new UsageError(`the directory of the destination ${dst} does not exist`, { suggestions: [`Create ${dirname(dst)} first.`] });
}

/** Renames `tmp` to `dst`, replacing what is there (a file or a directory). */
function place(tmp: string, dst: string): void {
  if (!exists(dst)) return renameSync(tmp, dst);
  const old = tempSibling(dst);
  renameSync(dst, old);
  try {
    renameSync(tmp, dst);
  } catch (e) {
    renameSync(old, dst);
    throw e;
  }
  rmSync(old, { recursive: true, force: true });
}

/** `it`, stopping (with the signal's reason) at the first piece after `signal` fired: an interrupted command leaves no temp sibling. */
async function* until<T>(it: AsyncIterable<T>, signal: AbortSignal | undefined): AsyncGenerator<T> {
  for await (const x of it) {
    signal?.throwIfAborted();
    yield x;
  }
}

const inside = (parent: string, p: string) => {
  const r = relative(parent, p);
  return r === '' || (!r.startsWith('..') && !isAbsolute(r));
};

/** Encrypts the file or directory `src` into the file `dst` (fsynced before it is renamed into place). */
export async function encryptPath(src: string, dst: string, sealer: Sealer, opts: { force?: boolean; chunkSize?: number; signal?: AbortSignal } = {}): Promise<CryptResult> {
  const st = statSync(src, { throwIfNoEntry: false });
  if (!st || !(st.isFile() || st.isDirectory()))
    throw new UsageError(`${src} ${st ? 'is neither a file nor a directory' : 'does not exist'}`, { suggestions: ['Pass the file or directory to encrypt as SRC.'] });
  if (inside(src, dst)) throw new UsageError(`the destination ${dst} is ${dst === src ? '' : 'inside '}the source ${src}`, { suggestions: ['Write the encrypted file outside what is encrypted.'] });
  refuseExisting(dst, opts.force === true);
  const kind: Kind = st.isDirectory() ? 'directory' : 'file';
  const plaintext = kind === 'file' ? createReadStream(src) : await packTree(src);
  const hash = nodeCrypto().createHash('sha256');
  const tmp = tempSibling(dst);
  const fd = openSync(tmp, 'wx', 0o644);
  try {
    try {
      for await (const b of until(sealStream(plaintext, sealer, kind, opts.chunkSize ?? DEFAULT_CHUNK_SIZE), opts.signal)) {
        writeSync(fd, b);
        hash.update(b);
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    place(tmp, dst);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  return { src, dst, kind, key_mode: sealer.mode, key_fingerprint: sealer.fingerprint, ciphertext_sha256: hash.digest('hex') };
}

/** Decrypts `src` into `dst` (a file or a directory, as it was encrypted); on any failure nothing is left at or beside `dst`. */
export async function decryptPath(src: string, dst: string, opener: Opener, opts: { force?: boolean; signal?: AbortSignal } = {}): Promise<CryptResult & { files?: number; directories?: number }> {
  const st = statSync(src, { throwIfNoEntry: false });
  if (!st?.isFile()) throw new UsageError(`${src} ${st ? 'is not a file' : 'does not exist'}`, { suggestions: ['Pass the encrypted file (written by `mlcube encrypt`) as SRC.'] });
  refuseExisting(dst, opts.force === true);
  const opened = await openStream(createReadStream(src), opener, src);
  const tmp = tempSibling(dst);
  let counts: { files: number; directories: number } | undefined;
  try {
    if (opened.header.kind === 'directory') {
      mkdirSync(tmp, { mode: 0o700 });
      counts = await unpackTree(until(opened.plaintext, opts.signal), tmp, src);
    } else {
      const fd = openSync(tmp, 'wx', 0o600);
      try {
        for await (const b of until(opened.plaintext, opts.signal)) writeSync(fd, b);
      } finally {
        closeSync(fd);
      }
    }
    place(tmp, dst);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return { src, dst, kind: opened.header.kind, key_mode: opener.mode, key_fingerprint: opener.fingerprint, ciphertext_sha256: opened.digest(), ...counts };
}

/** The file a sealed output is written to: `<path>.enc`. */
export const sealedPath = (path: string) => `${path}.enc`;

/**
 * Seals a task's output (a file or directory) to a consumer's X25519 public key: `<path>.enc` replaces it, and the
 * plaintext is removed once the ciphertext is on disk, so the operator keeps only what the consumer's private key
 * opens. (Removal is not a secure erase: on a journaling or copy-on-write file system the blocks may remain.)
 */
export async function sealOutput(path: string, recipient: KeyObject): Promise<CryptResult> {
  const r = await encryptPath(path, sealedPath(path), recipientSealer(recipient), { force: true });
  rmSync(path, { recursive: true, force: true });
  return r;
}
