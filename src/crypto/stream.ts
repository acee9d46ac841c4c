import { DecryptError } from '../errors.js';
import { nodeCrypto } from '../provenance/crypto.js';
import { chunkNonce, chunkOffset, encodeHeader, HeaderProblem, parseHeader, DEFAULT_CHUNK_SIZE, SALT_BYTES, TAG_BYTES, type Header, type Kind } from './format.js';
import type { Opener, Sealer } from './keys.js';

/**
 * The format's chunked AEAD (src/crypto/format.ts) over async iterables of bytes: memory holds one chunk, whatever
 * the size of the stream.
 */

function sealChunk(key: Buffer, aad: Buffer, index: number, last: boolean, plaintext: Buffer): Buffer {
  const c = nodeCrypto().createCipheriv('aes-256-gcm', key, chunkNonce(index, last), { authTagLength: TAG_BYTES });
  c.setAAD(aad);
  return Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
}

/** The plaintext of a sealed chunk, or undefined when it does not authenticate. */
function openChunk(key: Buffer, aad: Buffer, index: number, last: boolean, sealed: Buffer): Buffer | undefined {
  const d = nodeCrypto().createDecipheriv('aes-256-gcm', key, chunkNonce(index, last), { authTagLength: TAG_BYTES });
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  const out = d.update(sealed.subarray(0, sealed.length - TAG_BYTES));
  try {
    return Buffer.concat([out, d.final()]);
  } catch {
    return undefined;
  }
}

/** A byte queue that hands out fixed-size pieces. */
class Bytes {
  private parts: Buffer[] = [];
  length = 0;
  push(b: Buffer) {
    if (!b.length) return;
    this.parts.push(b);
    this.length += b.length;
  }
  peek(): Buffer {
    return this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts);
  }
  take(n: number): Buffer {
    const all = this.peek();
    this.parts = all.length > n ? [all.subarray(n)] : [];
    this.length -= Math.min(n, all.length);
    return all.subarray(0, n);
  }
}

/** The encrypted stream of `plaintext`: the header, then the sealed chunks. */
export async function* sealStream(plaintext: AsyncIterable<Buffer | string>, sealer: Sealer, kind: Kind, chunkSize = DEFAULT_CHUNK_SIZE): AsyncGenerator<Buffer> {
  const salt = nodeCrypto().randomBytes(SALT_BYTES);
  const { key, ephemeral } = sealer.fileKey(salt);
  const header = encodeHeader({ kind, mode: sealer.mode, chunkSize, salt, fingerprint: sealer.fingerprint, ephemeral });
  yield header;
  const q = new Bytes();
  let index = 0;
  for await (const piece of plaintext) {
    q.push(Buffer.isBuffer(piece) ? piece : Buffer.from(piece));
    // Strictly more than a chunk: the last chunk must be shorter than chunkSize (format.ts), so a full one waits.
    while (q.length >= chunkSize) yield sealChunk(key, header, index++, false, q.take(chunkSize));
  }
  yield sealChunk(key, header, index, true, q.take(q.length));
}

export interface OpenedStream {
  header: Header;
  /** The plaintext, one authenticated chunk at a time; throws DecryptError at the first chunk that does not authenticate. */
  plaintext: AsyncGenerator<Buffer>;
  /** sha256 (hex) of the ciphertext read so far: the whole file's once `plaintext` is done. */
  digest(): string;
}

const FIX_DAMAGED = 'Get an unaltered copy of the file from whoever encrypted it (a download cut short, or a copy edited on the way, reads like this).';

/**
 * Opens an encrypted stream: reads and checks the header (the right mode, the key's fingerprint), derives the file
 * key. `file` names the ciphertext in messages.
 */
export async function openStream(ciphertext: AsyncIterable<Buffer | string>, opener: Opener, file: string): Promise<OpenedStream> {
  const it = ciphertext[Symbol.asyncIterator]();
  const hash = nodeCrypto().createHash('sha256');
  const q = new Bytes();
  let eof = false;
  const more = async () => {
    const r = await it.next();
    if (r.done) return ((eof = true), false);
    const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
    hash.update(b);
    q.push(b);
    return true;
  };
  const fail = (detail: string, fix = FIX_DAMAGED) => new DecryptError(detail, { place: { file }, suggestions: [fix] });

  let parsed: ReturnType<typeof parseHeader>;
  for (;;) {
    try {
      parsed = parseHeader(q.peek());
    } catch (e) {
      if (!(e instanceof HeaderProblem)) throw e;
      if (e.notOurs) throw fail(`not an mlcube encrypted file: it starts with ${e.found}, expected ${e.expected}`, 'Pass a file written by `mlcube encrypt`.');
      throw fail(`the header is not valid at ${e.message}`, e.offset === 8 ? 'Decrypt it with the mlcube version that wrote it.' : FIX_DAMAGED);
    }
    if (parsed) break;
    if (!(await more())) throw fail(`the file ends at byte ${q.length}, inside its header`, FIX_DAMAGED);
  }
  const { header, bytes } = parsed;
  if (header.mode !== opener.mode)
    throw fail(
      `it is sealed ${header.mode === 'x25519' ? 'to an X25519 public key' : 'with a symmetric key'} (fingerprint ${header.fingerprint}), and ${opener.source} is ${opener.mode === 'x25519' ? 'an X25519 identity' : 'a symmetric key'}`,
      header.mode === 'x25519' ? 'Pass --identity=identity.key, the private key of the recipient it was sealed to.' : 'Pass --key-file=KEY, the key it was encrypted with.',
    );
  if (header.fingerprint !== opener.fingerprint)
    throw fail(
      `it was sealed for the key of fingerprint ${header.fingerprint}; ${opener.source} has fingerprint ${opener.fingerprint}`,
      header.mode === 'x25519' ? 'Pass the --identity whose recipient.pub it was sealed to.' : 'Pass the --key-file it was encrypted with.',
    );
  let key: Buffer;
  try {
    key = opener.fileKey(header);
  } catch (e) {
    throw fail(`the header's ephemeral public key at byte 64 cannot be used (${(e as Error).message})`);
  }
  q.take(bytes.length);
  const segment = header.chunkSize + TAG_BYTES;

  async function* plaintext(): AsyncGenerator<Buffer> {
    for (let index = 0; ; index++) {
      while (q.length < segment && !eof) await more();
      const at = chunkOffset(bytes.length, header.chunkSize, index);
      if (q.length >= segment) {
        const pt = openChunk(key, bytes, index, false, q.take(segment));
        if (!pt) throw fail(`chunk ${index} (bytes ${at}-${at + segment - 1}) does not authenticate: the file was changed, reordered or cut there`);
        yield pt;
        continue;
      }
      // The last chunk: the only one shorter than a full segment.
      if (q.length < TAG_BYTES)
        throw fail(
          q.length === 0
            ? `the file ends at byte ${at}, after ${index ? `chunk ${index - 1}` : 'its header'}, without its last chunk: it was truncated`
            : `the file ends at byte ${at + q.length}, inside chunk ${index} (a chunk is at least its ${TAG_BYTES}-byte tag): it was truncated`,
        );
      const n = q.length;
      const pt = openChunk(key, bytes, index, true, q.take(n));
      if (!pt) throw fail(`the last chunk, ${index} (bytes ${at}-${at + n - 1}), does not authenticate: the file was changed, cut or appended to there`);
      if (pt.length) yield pt;
      return;
    }
  }
  return { header, plaintext: plaintext(), digest: () => hash.copy().digest('hex') };
}
