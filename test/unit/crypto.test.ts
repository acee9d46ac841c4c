import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { DecryptError } from '../../src/errors.js';
import { chunkNonce, DEFAULT_CHUNK_SIZE, encodeHeader, headerBytes, parseHeader, TAG_BYTES, type Kind } from '../../src/crypto/format.js';
import { openStream, sealStream } from '../../src/crypto/stream.js';
import { generateX25519Keys, identityOpener, keyFingerprint, keyOpener, keySealer, parseKey, readIdentity, readRecipient, recipientSealer, type Opener, type Sealer } from '../../src/crypto/keys.js';
import { prng } from '../helpers/prng.js';
import { tempDir } from '../helpers/cli.js';
import { join } from 'node:path';

async function* of(...parts: Buffer[]): AsyncGenerator<Buffer> {
  for (const p of parts) yield p;
}
async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of it) parts.push(b);
  return Buffer.concat(parts);
}
const seal = (pt: Buffer, sealer: Sealer, chunkSize = DEFAULT_CHUNK_SIZE, kind: Kind = 'file') => collect(sealStream(of(pt), sealer, kind, chunkSize));
/** The plaintext, or the DecryptError that refused it. */
async function open(ct: Buffer, opener: Opener): Promise<Buffer | DecryptError> {
  try {
    const o = await openStream(of(ct), opener, 'ct.enc');
    return await collect(o.plaintext);
  } catch (e) {
    if (e instanceof DecryptError) return e;
    throw e;
  }
}
const refused = async (ct: Buffer, opener: Opener, why: string) => {
  const r = await open(ct, opener);
  expect(r, why).to.be.instanceOf(DecryptError);
  return r as DecryptError;
};

const KEY = randomBytes(32);
const sealer = keySealer(KEY);
const opener = keyOpener(KEY, '--key-file=k');

describe('encrypted format v1: header layout (README "Encrypted files")', () => {
  it('encodes each field at its documented offset, and parses back', () => {
    const salt = randomBytes(32);
    const eph = randomBytes(32);
    const fp = 'ab'.repeat(16);
    for (const [mode, len] of [
      ['key_file', 64],
      ['x25519', 96],
    ] as const) {
      const b = encodeHeader({ kind: 'directory', mode, chunkSize: 70000, salt, fingerprint: fp, ephemeral: eph });
      expect(b.length).to.equal(len).and.equal(headerBytes(mode));
      expect(b.subarray(0, 8).toString('ascii')).to.equal('MLCUBENC');
      expect([b[8], b[9], b[10], b[11], b.readUInt32BE(12)]).to.deep.equal([1, 2, mode === 'key_file' ? 1 : 2, 0, 70000]);
      expect(b.subarray(16, 48)).to.deep.equal(salt);
      expect(b.subarray(48, 64).toString('hex')).to.equal(fp);
      if (mode === 'x25519') expect(b.subarray(64, 96)).to.deep.equal(eph);
      const p = parseHeader(Buffer.concat([b, Buffer.from('chunks...')]))!;
      expect([p.header.kind, p.header.mode, p.header.chunkSize, p.header.fingerprint]).to.deep.equal(['directory', mode, 70000, fp]);
      expect(p.bytes).to.deep.equal(b);
      expect(parseHeader(b.subarray(0, len - 1)), 'too short to tell').to.equal(undefined);
    }
  });

  it('the nonce is the chunk counter (11 bytes, big-endian) and the last-chunk flag', () => {
    expect(chunkNonce(0, false).toString('hex')).to.equal('00'.repeat(12));
    expect(chunkNonce(0x0102, true).toString('hex')).to.equal('00'.repeat(9) + '010201');
    expect(() => chunkNonce(-1, false)).to.throw(RangeError);
  });
});

describe('encrypted format v1: round trips', () => {
  const C = DEFAULT_CHUNK_SIZE;
  const sizes: [string, number][] = [
    ['empty', 0],
    ['1 byte', 1],
    ['one chunk less a byte', C - 1],
    ['exactly one chunk', C],
    ['one chunk and a byte', C + 1],
    ['three chunks', 3 * C],
    ['5 MiB and 7 bytes', 5 * 1024 * 1024 + 7],
  ];
  for (const [name, n] of sizes) {
    it(`${name} (${n} bytes): decrypts to the same bytes; the length is header + chunks of C + 16 + a shorter last one`, async () => {
      const pt = randomBytes(n);
      const ct = await seal(pt, sealer);
      expect(ct.length).to.equal(64 + Math.floor(n / C) * (C + TAG_BYTES) + (n % C) + TAG_BYTES);
      expect(await open(ct, opener)).to.deep.equal(pt);
    });
  }

  it('plaintext arriving in odd pieces seals the same chunks as in one piece (chunking is by the format, not the reads)', async () => {
    const pt = randomBytes(10_000);
    const ct = await collect(sealStream(of(pt.subarray(0, 7), pt.subarray(7, 5000), pt.subarray(5000)), sealer, 'file', 1000));
    expect(ct.length).to.equal(64 + 10 * 1016 + 16);
    expect(await open(ct, opener)).to.deep.equal(pt);
    // Ciphertext in odd pieces too.
    const o = await openStream(of(...Array.from({ length: Math.ceil(ct.length / 333) }, (_, i) => ct.subarray(i * 333, (i + 1) * 333))), opener, 'x');
    expect(await collect(o.plaintext)).to.deep.equal(pt);
  });

  it('two encryptions of the same plaintext differ (a fresh salt, hence file key, per file)', async () => {
    const pt = Buffer.from('same');
    expect((await seal(pt, sealer)).equals(await seal(pt, sealer))).to.equal(false);
  });

  it('X25519: what is sealed to a recipient opens with its identity only', async () => {
    const t = tempDir('mlcube-x25519-');
    try {
      const a = generateX25519Keys(join(t.dir, 'a'), false);
      const b = generateX25519Keys(join(t.dir, 'b'), false);
      const pt = randomBytes(3000);
      const ct = await seal(pt, recipientSealer(readRecipient(a.publicKey)), 1024);
      expect(ct.length).to.equal(96 + 2 * 1040 + (3000 - 2048) + 16);
      expect(await open(ct, identityOpener(readIdentity(a.privateKey), '--identity=a'))).to.deep.equal(pt);
      const wrong = await refused(ct, identityOpener(readIdentity(b.privateKey), '--identity=b'), 'another identity');
      expect(wrong.message).to.contain(`sealed for the key of fingerprint ${a.keyid}; --identity=b has fingerprint ${b.keyid}`);
      expect((await refused(ct, opener, 'a symmetric key')).message).to.contain('sealed to an X25519 public key');
      expect(a.keyid).to.match(/^[0-9a-f]{32}$/);
    } finally {
      t.cleanup();
    }
  });
});

describe('encrypted format v1: tampering is detected (DecryptError naming the place)', () => {
  const C = 256;
  const H = 64;
  const SEG = C + TAG_BYTES;
  const N = 4; // chunks: three full ones and a last one of 100 bytes
  let pt: Buffer;
  let ct: Buffer;
  const seg = (i: number) => ct.subarray(H + i * SEG, Math.min(ct.length, H + (i + 1) * SEG));
  before(async () => {
    pt = randomBytes(3 * C + 100);
    ct = await seal(pt, sealer, C);
    expect(ct.length).to.equal(H + 3 * SEG + 100 + TAG_BYTES);
    expect(await open(ct, opener), 'the control decrypts').to.deep.equal(pt);
  });
  const flipped = (at: number) => {
    const b = Buffer.from(ct);
    b[at] ^= 0x01;
    return b;
  };

  it('one flipped bit anywhere in the header', async () => {
    for (let at = 0; at < H; at++) await refused(flipped(at), opener, `header byte ${at}`);
  });

  it('one flipped bit in the first, last, and a middle byte of every chunk, its tag included: the error names the chunk and its bytes', async () => {
    for (let i = 0; i < N; i++) {
      const start = H + i * SEG;
      const end = i === N - 1 ? ct.length - 1 : start + SEG - 1;
      for (const at of [start, start + 7, end - TAG_BYTES, end]) {
        const e = await refused(flipped(at), opener, `chunk ${i} byte ${at}`);
        expect(e.message).to.match(new RegExp(`^ct\\.enc: (the last chunk, )?chunk ${i}\\b|^ct\\.enc: the last chunk, ${i} `));
        expect(e.message).to.contain(`bytes ${start}-${end}`);
        expect(e.exitCode).to.equal(5);
        expect(e.suggestions).to.have.length(1);
      }
    }
  });

  it('a dropped chunk, two chunks swapped, a chunk duplicated', async () => {
    const head = ct.subarray(0, H);
    const s = [0, 1, 2, 3].map(seg);
    for (const [name, order] of [
      ['dropped 0', [1, 2, 3]],
      ['dropped 1', [0, 2, 3]],
      ['dropped the last', [0, 1, 2]],
      ['swapped 0 and 1', [1, 0, 2, 3]],
      ['swapped 1 and 2', [0, 2, 1, 3]],
      ['duplicated 1', [0, 1, 1, 2, 3]],
      ['the last one twice', [0, 1, 2, 3, 3]],
    ] as const)
      await refused(Buffer.concat([head, ...order.map((i) => s[i])]), opener, name);
    expect(await open(Buffer.concat([head, ...s]), opener), 'reassembled in order, it decrypts').to.deep.equal(pt);
  });

  it('truncation at every chunk boundary and in the middle of every chunk, and at every byte of the header', async () => {
    for (let i = 0; i < N; i++) {
      const boundary = H + i * SEG;
      for (const at of [boundary, boundary + 1, boundary + TAG_BYTES - 1, boundary + TAG_BYTES, boundary + 100]) {
        if (at >= ct.length) continue;
        const e = await refused(ct.subarray(0, at), opener, `cut at ${at}`);
        expect(e.message).to.match(/truncated|does not authenticate/);
      }
    }
    expect((await refused(ct.subarray(0, H + 3 * SEG), opener, 'cut after the last full chunk')).message).to.contain(`ends at byte ${H + 3 * SEG}, after chunk 2, without its last chunk`);
    for (let at = 0; at < H; at++) expect((await refused(ct.subarray(0, at), opener, `cut at ${at}`)).message).to.contain('inside its header');
    expect((await refused(ct.subarray(0, H), opener, 'the header alone')).message).to.contain(`ends at byte ${H}, after its header, without its last chunk`);
  });

  it('appended bytes: one, a tag, a whole chunk, a copy of the file', async () => {
    for (const extra of [Buffer.from([0]), randomBytes(TAG_BYTES), randomBytes(SEG), ct]) await refused(Buffer.concat([ct, extra]), opener, `${extra.length} appended`);
  });

  it('a wrong key is named by its fingerprint; a file that is not ours and a newer version say so', async () => {
    const other = randomBytes(32);
    const e = await refused(ct, keyOpener(other, '--key-file=other'), 'wrong key');
    expect(e.message).to.equal(`ct.enc: it was sealed for the key of fingerprint ${keyFingerprint(KEY)}; --key-file=other has fingerprint ${keyFingerprint(other)}`);
    expect((await refused(Buffer.from('PK\x03\x04 a zip file, not ours'), opener, 'not ours')).message).to.contain('not an mlcube encrypted file');
    const v2 = Buffer.from(ct);
    v2[8] = 2;
    expect((await refused(v2, opener, 'v2')).message).to.contain('byte 8: found format version 2, expected version 1');
  });

  it('a header whose fingerprint was edited to match another key still fails (the header is the AAD of every chunk)', async () => {
    const other = randomBytes(32);
    const b = Buffer.from(ct);
    Buffer.from(keyFingerprint(other), 'hex').copy(b, 48);
    expect((await refused(b, keyOpener(other, 'other'), 'forged fingerprint')).message).to.contain('chunk 0 ');
  });

  it('fuzz (seeded): every random flip, cut, insertion, deletion or splice of a small file fails to decrypt', async () => {
    const seed = 0x5eed18;
    const rnd = prng(seed);
    const small = randomBytes(300);
    const c = await seal(small, sealer, 64);
    const int = (n: number) => Math.floor(rnd() * n);
    for (let k = 0; k < 400; k++) {
      const b = Buffer.from(c);
      let m: Buffer;
      let what: string;
      switch (k % 5) {
        case 0: {
          const at = int(b.length);
          b[at] ^= 1 << int(8);
          m = b;
          what = `bit flip at ${at}`;
          break;
        }
        case 1: {
          const at = int(b.length);
          m = b.subarray(0, at);
          what = `cut at ${at}`;
          break;
        }
        case 2: {
          const at = int(b.length + 1);
          m = Buffer.concat([b.subarray(0, at), Buffer.from([int(256)]), b.subarray(at)]);
          what = `byte inserted at ${at}`;
          break;
        }
        case 3: {
          const at = int(b.length);
          m = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
          what = `byte deleted at ${at}`;
          break;
        }
        default: {
          // A run of bytes copied from elsewhere in the file over another place.
          const from = int(b.length - 16);
          const to = int(b.length - 16);
          if (from === to) continue;
          b.copy(b, to, from, from + 1 + int(16));
          m = b;
          what = `splice ${from} -> ${to}`;
        }
      }
      if (m.equals(c)) continue;
      await refused(m, opener, `seed ${seed}, mutation ${k}: ${what}`);
    }
  });
});

describe('encrypted format v1: streaming', () => {
  it('memory holds a bounded window: 32 MiB go through seal and open while never more than 2 MiB of plaintext are read ahead of what came out', async () => {
    const MiB = 1024 * 1024;
    let produced = 0;
    async function* source(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 32; i++) {
        produced += MiB;
        yield Buffer.alloc(MiB, i);
      }
    }
    const o = await openStream(sealStream(source(), sealer, 'file'), opener, 'stream');
    let consumed = 0;
    let maxAhead = 0;
    for await (const b of o.plaintext) {
      expect(b[0]).to.equal(Math.floor(consumed / MiB));
      consumed += b.length;
      maxAhead = Math.max(maxAhead, produced - consumed);
    }
    expect(consumed).to.equal(32 * MiB);
    expect(maxAhead).to.be.at.most(2 * MiB);
  });
});

describe('encrypted format v1: key files', () => {
  const cases: [string, Buffer, 'ok' | 'refused'][] = [
    ['32 raw bytes', KEY, 'ok'],
    ['64 hex digits', Buffer.from(KEY.toString('hex')), 'ok'],
    ['64 hex digits and a newline', Buffer.from(KEY.toString('hex') + '\n'), 'ok'],
    ['64 upper-case hex digits and CRLF', Buffer.from(KEY.toString('hex').toUpperCase() + '\r\n'), 'ok'],
    ['31 bytes', KEY.subarray(0, 31), 'refused'],
    ['33 bytes (32 and a newline)', Buffer.concat([KEY, Buffer.from('\n')]), 'refused'],
    ['64 characters that are not hex', Buffer.from('z'.repeat(64)), 'refused'],
    ['63 hex digits', Buffer.from(KEY.toString('hex').slice(1)), 'refused'],
    ['empty', Buffer.alloc(0), 'refused'],
  ];
  for (const [name, bytes, want] of cases)
    it(`${name}: ${want}`, () => {
      if (want === 'ok') return expect(parseKey(bytes, 'file k')).to.deep.equal(KEY);
      expect(() => parseKey(bytes, 'file k'))
        .to.throw(`the key file k holds ${bytes.length} bytes that are neither 32 raw bytes nor 64 hex digits`)
        .with.property('exitCode', 2);
    });

  it('the fingerprint is 16 hex bytes, differs per key, and is not a prefix of the key or its plain sha256', async () => {
    const { createHash } = await import('node:crypto');
    const fp = keyFingerprint(KEY);
    expect(fp).to.match(/^[0-9a-f]{32}$/);
    expect(fp).to.not.equal(keyFingerprint(randomBytes(32)));
    expect(KEY.toString('hex')).to.not.contain(fp);
    expect(createHash('sha256').update(KEY).digest('hex')).to.not.contain(fp);
  });
});
