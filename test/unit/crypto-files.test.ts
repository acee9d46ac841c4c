import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Header } from 'tar';
import { DecryptError } from '../../src/errors.js';
import { decryptPath, encryptPath, sealOutput, sealedPath } from '../../src/crypto/files.js';
import { generateX25519Keys, identityOpener, keyOpener, keySealer, readIdentity, readRecipient } from '../../src/crypto/keys.js';
import { sealStream } from '../../src/crypto/stream.js';
import { safeEntryPath } from '../../src/crypto/tree.js';
import { snapshot, tempDir } from '../helpers/cli.js';

const KEY = randomBytes(32);
const sealer = keySealer(KEY);
const opener = keyOpener(KEY, '--key-file=k');

/** A tar stream of the given entries, made by hand: what `mlcube encrypt` never writes, but a key holder could. */
function tarOf(entries: { path: string; type: string; body?: string; linkpath?: string }[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '');
    const h = new Header({ path: e.path, type: e.type as any, size: body.length, mode: 0o644, linkpath: e.linkpath, mtime: new Date(0) });
    const block = Buffer.alloc(512);
    h.encode(block);
    blocks.push(block, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  return Buffer.concat([...blocks, Buffer.alloc(1024)]);
}
async function sealAsDirectory(tar: Buffer, file: string): Promise<void> {
  const parts: Buffer[] = [];
  for await (const b of sealStream([tar] as any, sealer, 'directory', 512)) parts.push(b);
  writeFileSync(file, Buffer.concat(parts));
}

/** Every file of a tree with its bytes, directories with a slash. */
function tree(dir: string, rel = ''): string[] {
  return readdirSync(join(dir, rel), { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) => {
      const r = rel ? `${rel}/${e.name}` : e.name;
      return e.isDirectory() ? [`${r}/`, ...tree(dir, r)] : [`${r} ${readFileSync(join(dir, r)).toString('hex').slice(0, 40)}:${statSync(join(dir, r)).size}`];
    });
}

describe('encrypting and decrypting paths', () => {
  let t: { dir: string; cleanup: () => void };
  beforeEach(() => (t = tempDir('mlcube-crypt-')));
  afterEach(() => t.cleanup());

  it('a directory with nested files, an empty file and an empty directory round-trips; plaintext comes out 0600/0700', async () => {
    const src = join(t.dir, 'data');
    mkdirSync(join(src, 'a', 'b'), { recursive: true });
    mkdirSync(join(src, 'empty'));
    writeFileSync(join(src, 'a', 'b', 'deep.bin'), randomBytes(200_000));
    writeFileSync(join(src, 'a', 'zero'), '');
    writeFileSync(join(src, 'top.txt'), 'hello');
    writeFileSync(join(src, 'a', `${'long-name-'.repeat(12)}.txt`), 'a path over 100 bytes (a pax header)');
    const r = await encryptPath(src, join(t.dir, 'data.enc'), sealer, { chunkSize: 4096 });
    expect([r.kind, r.key_mode, r.key_fingerprint]).to.deep.equal(['directory', 'key_file', sealer.fingerprint]);
    expect(r.ciphertext_sha256).to.match(/^[0-9a-f]{64}$/);
    const d = await decryptPath(join(t.dir, 'data.enc'), join(t.dir, 'out'), opener);
    expect([d.kind, d.files, d.directories, d.ciphertext_sha256]).to.deep.equal(['directory', 4, 3, r.ciphertext_sha256]);
    expect(tree(join(t.dir, 'out'))).to.deep.equal(tree(src));
    expect(statSync(join(t.dir, 'out', 'a', 'b', 'deep.bin')).mode & 0o777).to.equal(0o600);
    expect(statSync(join(t.dir, 'out', 'empty')).mode & 0o777).to.equal(0o700);
  });

  it('an empty directory round-trips', async () => {
    mkdirSync(join(t.dir, 'none'));
    await encryptPath(join(t.dir, 'none'), join(t.dir, 'none.enc'), sealer);
    await decryptPath(join(t.dir, 'none.enc'), join(t.dir, 'out'), opener);
    expect(readdirSync(join(t.dir, 'out'))).to.deep.equal([]);
  });

  it('a symbolic link in the directory is refused when encrypting, naming it (nothing is written)', async () => {
    mkdirSync(join(t.dir, 'd'));
    symlinkSync('/etc/passwd', join(t.dir, 'd', 'link'));
    let err: any;
    await encryptPath(join(t.dir, 'd'), join(t.dir, 'd.enc'), sealer).catch((e) => (err = e));
    expect(err?.message).to.contain(`${join(t.dir, 'd', 'link')} is a symbolic link`);
    expect(readdirSync(t.dir)).to.deep.equal(['d']);
  });

  it('an existing destination is refused unless force, which replaces it (a file by a directory too)', async () => {
    writeFileSync(join(t.dir, 'f'), 'plain');
    writeFileSync(join(t.dir, 'f.enc'), 'old');
    let err: any;
    await encryptPath(join(t.dir, 'f'), join(t.dir, 'f.enc'), sealer).catch((e) => (err = e));
    expect([err?.exitCode, err?.message]).to.deep.equal([2, `the destination ${join(t.dir, 'f.enc')} exists`]);
    expect(readFileSync(join(t.dir, 'f.enc'), 'utf8')).to.equal('old');
    await encryptPath(join(t.dir, 'f'), join(t.dir, 'f.enc'), sealer, { force: true });
    mkdirSync(join(t.dir, 'out'));
    writeFileSync(join(t.dir, 'out', 'stale'), '');
    await decryptPath(join(t.dir, 'f.enc'), join(t.dir, 'out'), opener, { force: true });
    expect(readFileSync(join(t.dir, 'out'), 'utf8')).to.equal('plain');
    expect(readdirSync(t.dir).sort()).to.deep.equal(['f', 'f.enc', 'out']);
  });

  it('a destination inside the source is refused', async () => {
    mkdirSync(join(t.dir, 'd'));
    let err: any;
    await encryptPath(join(t.dir, 'd'), join(t.dir, 'd', 'x.enc'), sealer).catch((e) => (err = e));
    expect(err?.message).to.contain('is inside the source');
  });

  for (const [name, mutate] of [
    ['a flipped byte in the last chunk', (b: Buffer) => ((b[b.length - 3] ^= 1), b)],
    ['a flipped byte in the first chunk', (b: Buffer) => ((b[100] ^= 1), b)],
    ['truncation in the middle', (b: Buffer) => b.subarray(0, b.length >> 1)],
    ['appended bytes', (b: Buffer) => Buffer.concat([b, Buffer.from('x')])],
  ] as const) {
    it(`a failed decryption (${name}) writes nothing at or beside the destination, file or directory`, async () => {
      for (const kind of ['file', 'directory']) {
        const src = join(t.dir, kind);
        if (kind === 'file') writeFileSync(src, randomBytes(20_000));
        else {
          mkdirSync(join(src, 'sub'), { recursive: true });
          writeFileSync(join(src, 'sub', 'x'), randomBytes(20_000));
          writeFileSync(join(src, 'y'), 'y');
        }
        const enc = join(t.dir, `${kind}.enc`);
        await encryptPath(src, enc, sealer, { chunkSize: 1024 });
        writeFileSync(enc, mutate(readFileSync(enc)));
        const before = snapshot(t.dir);
        let err: any;
        await decryptPath(enc, join(t.dir, `${kind}.out`), opener).catch((e) => (err = e));
        expect(err, `${kind}: ${err?.stack}`).to.be.instanceOf(DecryptError);
        expect(err.message).to.contain(enc);
        expect(snapshot(t.dir), kind).to.deep.equal(before);
      }
    });
  }

  it('an interrupt (the abort signal) stops encryption and decryption with its reason; no temp sibling is left', async () => {
    writeFileSync(join(t.dir, 'f'), randomBytes(10_000));
    await encryptPath(join(t.dir, 'f'), join(t.dir, 'f.enc'), sealer);
    mkdirSync(join(t.dir, 'd'));
    writeFileSync(join(t.dir, 'd', 'x'), 'x');
    await encryptPath(join(t.dir, 'd'), join(t.dir, 'd.enc'), sealer);
    const before = snapshot(t.dir);
    const c = new AbortController();
    c.abort('SIGINT');
    for (const run of [
      () => encryptPath(join(t.dir, 'f'), join(t.dir, 'g.enc'), sealer, { signal: c.signal }),
      () => decryptPath(join(t.dir, 'f.enc'), join(t.dir, 'f.out'), opener, { signal: c.signal }),
      () => decryptPath(join(t.dir, 'd.enc'), join(t.dir, 'd.out'), opener, { signal: c.signal }),
    ]) {
      let err: unknown;
      await run().catch((e) => (err = e));
      expect(err).to.equal('SIGINT');
      expect(snapshot(t.dir)).to.deep.equal(before);
    }
  });

  it('a wrong key: exit 5, nothing written', async () => {
    writeFileSync(join(t.dir, 'f'), 'x');
    await encryptPath(join(t.dir, 'f'), join(t.dir, 'f.enc'), sealer);
    const before = snapshot(t.dir);
    let err: any;
    await decryptPath(join(t.dir, 'f.enc'), join(t.dir, 'out'), keyOpener(randomBytes(32), 'other')).catch((e) => (err = e));
    expect([err?.exitCode, err?.code]).to.deep.equal([5, 'MLCUBE_DECRYPT_FAILED']);
    expect(snapshot(t.dir)).to.deep.equal(before);
  });

  it('sealOutput: the output is replaced by <path>.enc, which only the identity opens', async () => {
    const keys = generateX25519Keys(join(t.dir, 'keys'), false);
    const out = join(t.dir, 'model');
    mkdirSync(out);
    writeFileSync(join(out, 'weights.bin'), randomBytes(5000));
    const expected = tree(out);
    const r = await sealOutput(out, readRecipient(keys.publicKey));
    expect([r.dst, r.key_mode, r.key_fingerprint, existsSync(out)]).to.deep.equal([sealedPath(out), 'x25519', keys.keyid, false]);
    await decryptPath(sealedPath(out), join(t.dir, 'opened'), identityOpener(readIdentity(keys.privateKey), 'identity'));
    expect(tree(join(t.dir, 'opened'))).to.deep.equal(expected);
  });
});

describe('decrypting a directory: archive entries that could escape the destination are refused (fail closed)', () => {
  let t: { dir: string; cleanup: () => void };
  beforeEach(() => (t = tempDir('mlcube-tar-')));
  afterEach(() => t.cleanup());

  it('the control: a hand-made archive of a directory and a file decrypts', async () => {
    await sealAsDirectory(
      tarOf([
        { path: 'd/', type: 'Directory' },
        { path: 'd/f', type: 'File', body: 'ok' },
      ]),
      join(t.dir, 'x.enc'),
    );
    await decryptPath(join(t.dir, 'x.enc'), join(t.dir, 'out'), opener);
    expect(readFileSync(join(t.dir, 'out', 'd', 'f'), 'utf8')).to.equal('ok');
  });

  const bad: [string, { path: string; type: string; body?: string; linkpath?: string }[], RegExp][] = [
    ['a ".." path', [{ path: '../evil', type: 'File', body: 'x' }], /"\.\.\/evil" has an empty, "\." or "\.\." path segment/],
    ['a ".." inside the path', [{ path: 'a/../../evil', type: 'File', body: 'x' }], /path segment/],
    ['an absolute path', [{ path: '/tmp/evil', type: 'File', body: 'x' }], /absolute path/],
    ['a symbolic link out', [{ path: 'l', type: 'SymbolicLink', linkpath: '/etc' }], /is a SymbolicLink entry/],
    [
      'a symbolic link inside',
      [
        { path: 'f', type: 'File', body: 'x' },
        { path: 'l', type: 'SymbolicLink', linkpath: 'f' },
      ],
      /is a SymbolicLink entry/,
    ],
    ['a hard link', [{ path: 'l', type: 'Link', linkpath: '/etc/passwd' }], /is a Link entry/],
    ['a FIFO', [{ path: 'p', type: 'FIFO' }], /is a FIFO entry/],
    ['a character device', [{ path: 'c', type: 'CharacterDevice' }], /is a CharacterDevice entry/],
    [
      'a path twice',
      [
        { path: 'f', type: 'File', body: 'x' },
        { path: 'f', type: 'File', body: 'y' },
      ],
      /appears twice/,
    ],
  ];
  for (const [name, entries, message] of bad)
    it(`${name}: exit 5, the entry named, nothing at DST or outside it`, async () => {
      await sealAsDirectory(tarOf(entries), join(t.dir, 'x.enc'));
      const before = snapshot(t.dir);
      let err: any;
      await decryptPath(join(t.dir, 'x.enc'), join(t.dir, 'sub', 'out'), opener).catch((e) => (err = e));
      // DST's parent does not exist: created by nobody. Now with a parent:
      expect(err?.message).to.contain('does not exist');
      mkdirSync(join(t.dir, 'sub'));
      const before2 = snapshot(t.dir);
      err = undefined;
      await decryptPath(join(t.dir, 'x.enc'), join(t.dir, 'sub', 'out'), opener).catch((e) => (err = e));
      expect(err, err?.stack).to.be.instanceOf(DecryptError);
      expect(err.message).to.match(message);
      expect(snapshot(t.dir)).to.deep.equal(before2);
      expect(before2.filter((l) => !l.startsWith('sub '))).to.deep.equal(before);
      expect(existsSync(join(t.dir, 'evil')) || existsSync('/tmp/evil')).to.equal(false);
    });

  it('safeEntryPath: the rules, table-driven', () => {
    const ok: [string, string, string][] = [
      ['a', 'File', 'a'],
      ['a/b/', 'Directory', 'a/b'],
      ['a/b.c', 'OldFile', 'a/b.c'],
    ];
    for (const [p, type, want] of ok) expect(safeEntryPath(p, type)).to.equal(want);
    for (const [p, type] of [
      ['', 'File'],
      ['a//b', 'File'],
      ['./a', 'File'],
      ['a/.', 'File'],
      ['C:/x', 'File'],
      ['a\0b', 'File'],
      ['a', 'ContiguousFile'],
    ])
      expect(() => safeEntryPath(p, type), JSON.stringify(p)).to.throw();
  });
});
