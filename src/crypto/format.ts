/**
 * The encrypted file format, version 1 (README "Encrypted files"): a fixed header, then the plaintext in chunks
 * sealed with AES-256-GCM. This module is pure: byte layouts, nonces and the header's checks.
 *
 *   offset  size  field
 *   0       8     magic "MLCUBENC"
 *   8       1     format version (1)
 *   9       1     kind: 1 file, 2 directory (an uncompressed tar stream)
 *   10      1     key mode: 1 key file (32-byte symmetric key), 2 X25519 recipient
 *   11      1     reserved, 0
 *   12      4     chunk size C (plaintext bytes of every chunk but the last), big-endian
 *   16      32    salt (random per file): the file key is HKDF-SHA256(key material, salt, info)
 *   48      16    fingerprint of the key (mode 1) or of the recipient's public key (mode 2)
 *   64      32    (mode 2 only) the sender's ephemeral X25519 public key
 *
 * Chunk i (from 0) is AES-256-GCM(file key, nonce = i as 11 bytes big-endian || last flag (1 byte: 1 on the last
 * chunk, else 0), AAD = the whole header) of C plaintext bytes, followed by its 16-byte tag. The last chunk holds
 * 0..C-1 bytes, so it is the only one shorter than C + 16: a stream cut at a chunk boundary has no last chunk, and
 * changing, dropping, reordering, duplicating or appending chunks breaks a tag or the flag (the STREAM construction
 * of Hoang, Reyhanitabar, Rogaway and Vizár, "Online authenticated-encryption and its nonce-reuse misuse-resistance",
 * 2015; the nonce needs no random prefix because every file has its own key).
 */
export const MAGIC = Buffer.from('MLCUBENC', 'ascii');
export const VERSION = 1;
export const TAG_BYTES = 16;
export const SALT_BYTES = 32;
export const FINGERPRINT_BYTES = 16;
export const X25519_KEY_BYTES = 32;
export const DEFAULT_CHUNK_SIZE = 64 * 1024;
/** A reader refuses larger chunks: one chunk is what decryption holds in memory. */
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;
const FIXED_HEADER_BYTES = 64;

export type Kind = 'file' | 'directory';
export type KeyMode = 'key_file' | 'x25519';
const KIND_BYTE: Record<Kind, number> = { file: 1, directory: 2 };
const MODE_BYTE: Record<KeyMode, number> = { key_file: 1, x25519: 2 };

export interface Header {
  kind: Kind;
  mode: KeyMode;
  chunkSize: number;
  salt: Buffer;
  /** Hex. */
  fingerprint: string;
  /** Mode x25519: the sender's ephemeral public key (raw 32 bytes). */
  ephemeral?: Buffer;
}

export const headerBytes = (mode: KeyMode) => FIXED_HEADER_BYTES + (mode === 'x25519' ? X25519_KEY_BYTES : 0);

export function encodeHeader(h: Header): Buffer {
  if (!Number.isInteger(h.chunkSize) || h.chunkSize < 1 || h.chunkSize > MAX_CHUNK_SIZE) throw new RangeError(`chunk size ${h.chunkSize} is outside 1..${MAX_CHUNK_SIZE}`);
  const b = Buffer.alloc(headerBytes(h.mode));
  MAGIC.copy(b, 0);
  b[8] = VERSION;
  b[9] = KIND_BYTE[h.kind];
  b[10] = MODE_BYTE[h.mode];
  b.writeUInt32BE(h.chunkSize, 12);
  h.salt.copy(b, 16, 0, SALT_BYTES);
  Buffer.from(h.fingerprint, 'hex').copy(b, 48, 0, FINGERPRINT_BYTES);
  if (h.mode === 'x25519') h.ephemeral!.copy(b, 64, 0, X25519_KEY_BYTES);
  return b;
}

/** Why a header was refused: the byte offset and what was expected there. */
export class HeaderProblem extends Error {
  constructor(
    readonly offset: number,
    readonly found: string,
    readonly expected: string,
    readonly notOurs = false,
  ) {
    super(`byte ${offset}: found ${found}, expected ${expected}`);
  }
}

const byName = <T extends string>(table: Record<T, number>, v: number) => (Object.keys(table) as T[]).find((k) => table[k] === v);

/**
 * The header at the start of `b` (which may hold more), or what is wrong with it; undefined while `b` is too short
 * to tell. Only the layout is checked here: the header's bytes are authenticated as the AAD of every chunk.
 */
export function parseHeader(b: Buffer): { header: Header; bytes: Buffer } | undefined {
  const n = Math.min(b.length, MAGIC.length);
  if (!b.subarray(0, n).equals(MAGIC.subarray(0, n))) throw new HeaderProblem(0, `0x${b.subarray(0, MAGIC.length).toString('hex')}`, `the magic "MLCUBENC"`, true);
  if (b.length < FIXED_HEADER_BYTES) return undefined;
  if (b[8] !== VERSION) throw new HeaderProblem(8, `format version ${b[8]}`, `version ${VERSION}`);
  const kind = byName(KIND_BYTE, b[9]);
  if (!kind) throw new HeaderProblem(9, `kind ${b[9]}`, 'kind 1 (file) or 2 (directory)');
  const mode = byName(MODE_BYTE, b[10]);
  if (!mode) throw new HeaderProblem(10, `key mode ${b[10]}`, 'key mode 1 (key file) or 2 (X25519 recipient)');
  if (b[11] !== 0) throw new HeaderProblem(11, `${b[11]}`, '0 (reserved)');
  const chunkSize = b.readUInt32BE(12);
  if (chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) throw new HeaderProblem(12, `chunk size ${chunkSize}`, `a chunk size in 1..${MAX_CHUNK_SIZE}`);
  const len = headerBytes(mode);
  if (b.length < len) return undefined;
  const bytes = Buffer.from(b.subarray(0, len));
  return {
    header: {
      kind,
      mode,
      chunkSize,
      salt: bytes.subarray(16, 16 + SALT_BYTES),
      fingerprint: bytes.subarray(48, 48 + FINGERPRINT_BYTES).toString('hex'),
      ...(mode === 'x25519' ? { ephemeral: bytes.subarray(64, 64 + X25519_KEY_BYTES) } : {}),
    },
    bytes,
  };
}

/** The 12-byte GCM nonce of chunk `index`: the counter (11 bytes, big-endian) and the last-chunk flag. */
export function chunkNonce(index: number, last: boolean): Buffer {
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`chunk index ${index}`);
  const n = Buffer.alloc(12);
  n.writeBigUInt64BE(BigInt(index), 3);
  n[11] = last ? 1 : 0;
  return n;
}

/** Where chunk `index` starts in the file. */
export const chunkOffset = (headerLength: number, chunkSize: number, index: number) => headerLength + index * (chunkSize + TAG_BYTES);
