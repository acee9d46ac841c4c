import { expect } from 'chai';
import { prng } from '../helpers/prng.js';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { digestPath, ManifestError, manifestLine, manifestText, parseManifest, sha256File, treeDigest, treeManifest, type TreeEntry } from '../../src/provenance/digest.js';

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');
const H = sha('x');

/** mkfifo(1), or undefined (with the reason printed) where this machine has none. */
function mkfifo(path: string): boolean {
  const r = spawnSync('mkfifo', [path]);
  if (r.status === 0) return true;
  console.log(`      (skipped: mkfifo ${path} failed: ${r.error?.message ?? r.stderr})`);
  return false;
}

/** Fails instead of hanging when a digest blocks on something it should never have opened. */
const within = <T>(p: Promise<T>, ms = 5000) => Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`still running after ${ms} ms (blocked?)`)), ms).unref())]);

describe('provenance: digestPath opens only regular files and directories', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'mlcube-digest2-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  // make returns false where it could not make the thing (no mkfifo): the case is skipped.
  const cases: { name: string; make: (d: string) => boolean | void; path?: string; expected: object }[] = [
    { name: 'a file', make: (d) => writeFileSync(join(d, 'p'), 'x'), expected: { type: 'file', sha256: H, size: 1 } },
    { name: 'a link to a file (followed)', make: (d) => (writeFileSync(join(d, 'f'), 'x'), symlinkSync('f', join(d, 'p'))), expected: { type: 'file', sha256: H, size: 1 } },
    { name: 'a dangling link', make: (d) => symlinkSync('nowhere', join(d, 'p')), expected: { type: 'symlink', sha256: sha('nowhere') } },
    { name: 'a link to itself (loop)', make: (d) => symlinkSync('p', join(d, 'p')), expected: { type: 'symlink', sha256: sha('p') } },
    { name: 'a two-link loop', make: (d) => (symlinkSync('q', join(d, 'p')), symlinkSync('p', join(d, 'q'))), expected: { type: 'symlink', sha256: sha('q') } },
    { name: 'a FIFO (never opened)', make: (d) => mkfifo(join(d, 'p')), expected: { type: 'other' } },
    { name: 'a link to a FIFO', make: (d) => mkfifo(join(d, 'fifo')) && (symlinkSync('fifo', join(d, 'p')), true), expected: { type: 'other' } },
    { name: 'missing', make: () => undefined, expected: { type: 'missing' } },
    { name: 'a path below a file (ENOTDIR)', make: (d) => writeFileSync(join(d, 'f'), 'x'), path: 'f/p', expected: { type: 'missing' } },
  ];
  for (const c of cases)
    it(`digests ${c.name}`, async function () {
      if (c.make(dir) === false) return this.skip();
      expect(await within(digestPath(join(dir, c.path ?? 'p')))).to.deep.equal(c.expected);
    });

  it('digests a character device as other', async () => {
    expect(await within(digestPath('/dev/null'))).to.deep.equal({ type: 'other' });
  });

  it('follows a link to a directory and digests the tree behind it', async () => {
    mkdirSync(join(dir, 'd'));
    writeFileSync(join(dir, 'd', 'f'), 'x');
    symlinkSync('d', join(dir, 'p'));
    const d = await digestPath(join(dir, 'p'));
    expect(d.type).to.equal('directory');
    expect(d.entries).to.deep.equal([{ path: 'f', type: 'file', sha256: H, size: 1 }]);
  });

  it('refuses to sha256File a FIFO instead of waiting for a writer', async function () {
    if (!mkfifo(join(dir, 'fifo'))) return this.skip();
    await within(
      sha256File(join(dir, 'fifo')).then(
        () => expect.fail('hashed a FIFO'),
        (e) => expect(e.message).to.match(/not a regular file/),
      ),
    );
  });
});

describe('provenance: treeManifest entries (never followed, fail closed)', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'mlcube-tree-'))));
  afterEach(() => {
    chmodSync(dir, 0o700);
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists FIFOs as other, links (dangling, looping, to dirs) as symlink, without opening or following them', async function () {
    writeFileSync(join(dir, 'f'), 'x');
    symlinkSync('loop', join(dir, 'loop'));
    symlinkSync('nowhere', join(dir, 'dangling'));
    symlinkSync('.', join(dir, 'self'));
    const fifo = mkfifo(join(dir, 'fifo'));
    const entries = await within(treeManifest(dir));
    expect(entries).to.deep.equal([
      { path: 'dangling', type: 'symlink', sha256: sha('nowhere') },
      { path: 'f', type: 'file', sha256: H, size: 1 },
      ...(fifo ? [{ path: 'fifo', type: 'other' }] : []),
      { path: 'loop', type: 'symlink', sha256: sha('loop') },
      { path: 'self', type: 'symlink', sha256: sha('.') },
    ]);
    if (!fifo) this.skip();
  });

  // The exclude callback runs between the listing and the open: a deterministic stand-in for a concurrent writer.
  const swaps: { name: string; swap: (p: string) => boolean | void; expected: Omit<TreeEntry, 'path'> }[] = [
    { name: 'a FIFO', swap: (p) => (unlinkSync(p), mkfifo(p)), expected: { type: 'other' } },
    { name: 'a symlink', swap: (p) => (unlinkSync(p), symlinkSync('/etc/passwd', p)), expected: { type: 'symlink', sha256: sha('/etc/passwd') } },
    { name: 'a directory', swap: (p) => (unlinkSync(p), mkdirSync(p)), expected: { type: 'other' } },
  ];
  for (const s of swaps)
    it(`records a file swapped for ${s.name} after the listing as what it now is, without blocking`, async function () {
      writeFileSync(join(dir, 'f'), 'x');
      let ok = true as boolean | void;
      const entries = await within(treeManifest(dir, { exclude: (r) => ((ok = s.swap(join(dir, r))), false) }));
      if (ok === false) return this.skip();
      expect(entries).to.deep.equal([{ path: 'f', ...s.expected }]);
    });

  it('throws, naming the path, for a file that vanished after the listing (never a silent gap)', async () => {
    writeFileSync(join(dir, 'f'), 'x');
    await treeManifest(dir, { exclude: (r) => (unlinkSync(join(dir, r)), false) }).then(
      () => expect.fail('no error'),
      (e) =>
        expect(e.message)
          .to.contain(join(dir, 'f'))
          .and.match(/ENOENT/),
    );
  });

  it('throws, naming the path, for an unreadable file and an unreadable directory', async function () {
    if (process.getuid?.() === 0) {
      console.log('      (skipped: running as root, permissions do not deny reads)');
      return this.skip();
    }
    writeFileSync(join(dir, 'f'), 'x');
    chmodSync(join(dir, 'f'), 0);
    await treeManifest(dir).then(
      () => expect.fail('no error'),
      (e) =>
        expect(e.message)
          .to.contain(join(dir, 'f'))
          .and.match(/EACCES/),
    );
    unlinkSync(join(dir, 'f'));
    mkdirSync(join(dir, 'd'), 0);
    await treeManifest(dir).then(
      () => expect.fail('no error'),
      (e) =>
        expect(e.message)
          .to.contain(join(dir, 'd'))
          .and.match(/EACCES/),
    );
  });

  it('refuses a name that is not valid UTF-8 (it would be recorded under a lossy path)', async () => {
    writeFileSync(Buffer.concat([Buffer.from(join(dir, 'bad')), Buffer.from([0xff])]), 'x');
    await treeManifest(dir).then(
      () => expect.fail('no error'),
      (e) =>
        expect(e.message)
          .to.match(/not valid UTF-8/)
          .and.contain(dir),
    );
  });

  it('orders siblings by UTF-8 bytes, a directory before its contents, and round-trips through parseManifest', async () => {
    for (const n of ['a-b', '\u{1F600}', '\uE000', 'Z', 'é']) writeFileSync(join(dir, n), n);
    mkdirSync(join(dir, 'a'));
    writeFileSync(join(dir, 'a', 'b'), '');
    const entries = await treeManifest(dir);
    // UTF-16 order would put U+1F600 (a surrogate pair) before U+E000; UTF-8 order puts it last.
    expect(entries.map((e) => e.path)).to.deep.equal(['Z', 'a', 'a/b', 'a-b', 'é', '\uE000', '\u{1F600}']);
    expect(parseManifest(manifestText(entries))).to.deep.equal(entries);
    expect(sha(manifestText(entries))).to.equal(treeDigest(entries));
  });

  it('hashes a file larger than one chunk inside a tree as a one-shot sha256', async () => {
    const data = Buffer.alloc(9 * 1024 * 1024 + 3, 'ab');
    writeFileSync(join(dir, 'big'), data);
    expect(await treeManifest(dir)).to.deep.equal([{ path: 'big', type: 'file', sha256: sha(data), size: data.length }]);
  });

  it('leaves out excluded entries and everything below an excluded directory', async () => {
    mkdirSync(join(dir, 'workspace', 'deep'), { recursive: true });
    writeFileSync(join(dir, 'workspace', 'deep', 'f'), 'x');
    writeFileSync(join(dir, 'mlcube.yaml'), 'x');
    writeFileSync(join(dir, 'skip.pyc'), 'x');
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'src', 'workspace'), 'x');
    const seen: string[] = [];
    const entries = await treeManifest(dir, { exclude: (r, t) => (seen.push(`${t}:${r}`), (r === 'workspace' && t === 'dir') || r.endsWith('.pyc')) });
    expect(entries.map((e) => e.path)).to.deep.equal(['mlcube.yaml', 'src', 'src/workspace']);
    expect(seen).to.deep.equal(['file:mlcube.yaml', 'file:skip.pyc', 'dir:src', 'file:src/workspace', 'dir:workspace']);
    const d = await digestPath(dir, { exclude: (r) => r === 'workspace' });
    expect(d.entries!.map((e) => e.path)).to.deep.equal(['mlcube.yaml', 'skip.pyc', 'src', 'src/workspace']);
  });
});

describe('provenance: parseManifest (strict, fail closed)', () => {
  const F = (p: string, size = 1) => `F ${H} ${size} ${JSON.stringify(p)}\n`;
  const D = (p: string) => `D - - ${JSON.stringify(p)}\n`;

  it('parses an empty text as an empty manifest, and every kind of line', () => {
    expect(parseManifest('')).to.deep.equal([]);
    const text = `${D('d')}${F('d/f', 0)}L ${H} - "d/l"\nO - - "d/o"\n${F('e', 12345)}`;
    const entries = parseManifest(text);
    expect(entries).to.deep.equal([
      { path: 'd', type: 'dir' },
      { path: 'd/f', type: 'file', sha256: H, size: 0 },
      { path: 'd/l', type: 'symlink', sha256: H },
      { path: 'd/o', type: 'other' },
      { path: 'e', type: 'file', sha256: H, size: 12345 },
    ]);
    expect(manifestText(entries)).to.equal(text);
  });

  const bad: [name: string, text: string, line: number, message: RegExp][] = [
    ['a wrong kind letter', `X - - "a"\n`, 1, /<F\|D\|L\|O>/],
    ['a lowercase kind letter', `d - - "a"\n`, 1, /<F\|D\|L\|O>/],
    ['uppercase hex', `F ${H.toUpperCase()} 1 "a"\n`, 1, /hex/],
    ['short hex', `F ${H.slice(1)} 1 "a"\n`, 1, /hex/],
    ['a file without sha256', `F - 1 "a"\n`, 1, /sha256/],
    ['a file without size', `F ${H} - "a"\n`, 1, /size/],
    ['a size with a leading zero', `F ${H} 01 "a"\n`, 1, /size/],
    ['a negative size', `F ${H} -1 "a"\n`, 1, /hex or -/],
    ['a size beyond 2^53', `F ${H} 9007199254740993 "a"\n`, 1, /2\^53/],
    ['a size on a directory', `D - 0 "a"\n`, 1, /"-" as the third field/],
    ['a size on a symlink', `L ${H} 3 "a"\n`, 1, /"-" as the third field/],
    ['a sha256 on a directory', `D ${H} - "a"\n`, 1, /"-" as the second field/],
    ['a symlink without sha256', `L - - "a"\n`, 1, /sha256/],
    ['two spaces', `D  - - "a"\n`, 1, /single spaces/],
    ['a trailing space', `D - - "a" \n`, 1, /single spaces/],
    ['a CRLF line end', `D - - "a"\r\n`, 1, /single spaces/],
    ['no trailing newline', `${D('a')}D - - "b"`, 2, /end with "\\n"/],
    ['a lone newline', `\n`, 1, /<F\|D\|L\|O>/],
    ['an unquoted path', `D - - a\n`, 1, /<F\|D\|L\|O>/],
    ['a path that is not JSON', `D - - "a\\x"\n`, 1, /one JSON string/],
    ['a non-canonical escape', `D - - "\\u0061"\n`, 1, /canonical form/],
    ['an escaped slash', `D - - "a\\/b"\n`, 1, /canonical form/],
    ['a raw control character', `D - - "a\tb"\n`, 1, /JSON string/],
    ['two JSON strings', `D - - "a" "b"\n`, 1, /one JSON string/],
    ['an absolute path', D('/a'), 1, /relative path/],
    ['an empty path', D(''), 1, /relative path/],
    ['a ".." segment', `${D('a')}${D('a/..')}`, 2, /"\.\."/],
    ['a "." segment', D('.'), 1, /"\."/],
    ['a trailing slash', D('a/'), 1, /relative path/],
    ['a doubled slash', `${D('a')}${D('a//b')}`, 2, /relative path/],
    ['a NUL in a path', D('a\0b'), 1, /NUL/],
    ['an unpaired surrogate', `D - - "\\ud800"\n`, 1, /surrogate/],
    ['a duplicate path', `${F('a')}${F('a')}`, 2, /no duplicates/],
    ['siblings out of byte order', `${F('b')}${F('a')}`, 2, /after the previous entry/],
    ['UTF-16 instead of UTF-8 order', `${F('\u{1F600}')}${F('\uE000')}`, 2, /after the previous entry/],
    ['a-b before a/b (not depth-first)', `${D('a')}${F('a-b')}${F('a/b')}`, 3, /after the previous entry/],
    ['a child before its parent', `${F('a/b')}${D('a')}`, 1, /directory "a" listed before/],
    ['a child without its parent', `${D('a')}${F('a/b/c')}`, 2, /directory "a\/b" listed before/],
    ['a child of a file', `${F('a')}${F('a/b')}`, 2, /directory "a" listed before/],
  ];
  for (const [name, text, line, message] of bad)
    it(`rejects ${name} (line ${line})`, () => {
      let err: unknown;
      try {
        parseManifest(text);
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(ManifestError);
      expect((err as ManifestError).line).to.equal(line);
      expect((err as Error).message)
        .to.match(new RegExp(`^manifest line ${line}: `))
        .and.match(message);
    });
});

/** Integers in [0, n) from the shared seeded PRNG. */
function prngInt(seed: number): (n: number) => number {
  const next = prng(seed);
  return (n: number) => Math.floor(next() * n);
}

describe('provenance: parseManifest property tests (seeded)', () => {
  const PIECES = ['a', 'b', 'B', '-', '.', ' ', '"', '\\', '\n', '\t', '\x7f', '\u2028', 'é', '\uE000', '\u{1F600}', '0', 'x'];
  const hexOf = (rnd: (n: number) => number) => Array.from({ length: 64 }, () => '0123456789abcdef'[rnd(16)]).join('');

  /** A random tree listed the way treeManifest lists one (independent of parseManifest's own order check). */
  function randomEntries(rnd: (n: number) => number): TreeEntry[] {
    const out: TreeEntry[] = [];
    const dir = (rel: string, depth: number) => {
      const names = new Set<string>();
      for (let k = rnd(5); k > 0; k--) {
        let n = '';
        for (let j = 1 + rnd(4); j > 0; j--) n += PIECES[rnd(PIECES.length)];
        if (n !== '.' && n !== '..') names.add(n);
      }
      for (const n of [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))) {
        const path = rel ? `${rel}/${n}` : n;
        const t = rnd(depth > 3 ? 3 : 4);
        if (t === 0) out.push({ path, type: 'file', sha256: hexOf(rnd), size: rnd(3) ? rnd(5000) : rnd(2 ** 31) * 2 ** 21 });
        else if (t === 1) out.push({ path, type: 'symlink', sha256: hexOf(rnd) });
        else if (t === 2) out.push({ path, type: 'other' });
        else {
          out.push({ path, type: 'dir' });
          dir(path, depth + 1);
        }
      }
    };
    dir('', 0);
    return out;
  }

  it('round-trips random manifests exactly (2,000 cases)', () => {
    const rnd = prngInt(20240601);
    for (let i = 0; i < 2000; i++) {
      const entries = randomEntries(rnd);
      const text = manifestText(entries);
      expect(parseManifest(text), `case ${i}`).to.deep.equal(entries);
      expect(manifestText(parseManifest(text))).to.equal(text);
    }
  });

  it('on mutated and truncated manifests, throws ManifestError or returns exactly the mutated text (5,000 cases)', () => {
    const rnd = prngInt(7);
    const decoder = new TextDecoder();
    let accepted = 0;
    let rejected = 0;
    for (let i = 0; i < 5000;) {
      const entries = randomEntries(rnd);
      if (entries.length === 0) continue;
      const bytes = Buffer.from(manifestText(entries));
      const at = rnd(bytes.length);
      const likely = ' -/"\\\n0aFDLOf9.';
      const byte = rnd(4) ? likely.charCodeAt(rnd(likely.length)) : rnd(256);
      let m: Buffer;
      switch (rnd(4)) {
        case 0:
          m = Buffer.from(bytes);
          m[at] = byte;
          break; // replace
        case 1:
          m = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]);
          break; // delete
        case 2:
          m = Buffer.concat([bytes.subarray(0, at), Buffer.from([byte]), bytes.subarray(at)]);
          break; // insert
        default:
          m = bytes.subarray(0, at); // truncate
      }
      const text = decoder.decode(m);
      let got: TreeEntry[];
      try {
        got = parseManifest(text);
      } catch (e) {
        if (!(e instanceof ManifestError)) throw new Error(`case ${i}: ${JSON.stringify(text)} threw ${e}`, { cause: e });
        rejected++;
        i++;
        continue;
      }
      expect(manifestText(got), `case ${i}: ${JSON.stringify(text)}`).to.equal(text);
      expect(got.map(manifestLine).join('')).to.equal(text);
      accepted++;
      i++;
    }
    // Both outcomes occur (a changed hex digit or a cut at a line end stays valid; most changes do not).
    expect(accepted).to.be.greaterThan(50);
    expect(rejected).to.be.greaterThan(2000);
  });
});
