import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/cli.js';
import { Collect } from '../helpers/runner-ctx.js';
import { captureStream, TASK_OUTPUT_LIMIT_BYTES } from '../../src/provenance/task-output.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('captured task output (src/provenance/task-output.ts)', () => {
  let dir: { dir: string; cleanup: () => void };
  beforeEach(() => (dir = tempDir('mlcube-capture-')));
  afterEach(() => dir.cleanup());

  it('the default cap is 16 MiB', () => expect(TASK_OUTPUT_LIMIT_BYTES).to.equal(16 * 1024 * 1024));

  const cases: [string, number, Buffer[]][] = [
    ['under the cap: all of it in the file', 100, [Buffer.from('hello\n'), Buffer.from('world\n')]],
    ['exactly the cap: not truncated', 12, [Buffer.from('hello\n'), Buffer.from('world\n')]],
    ['over the cap, split inside a chunk', 8, [Buffer.from('hello\n'), Buffer.from('world\n'), Buffer.from('more')]],
    ['over the cap at a chunk boundary, later chunks skipped', 6, [Buffer.from('hello\n'), Buffer.from('world\n')]],
    ['binary bytes pass unchanged (no decoding)', 3, [Buffer.from([0xff, 0x00, 0xfe, 0x80])]],
    ['empty output: an empty file', 10, []],
    ['cap 0: nothing kept, everything passed on', 0, [Buffer.from('abc')]],
  ];
  for (const [name, limit, chunks] of cases) {
    it(name, async () => {
      const terminal = new Collect();
      const file = join(dir.dir, 'stdout.txt');
      const c = captureStream({ file, passthrough: terminal, limitBytes: limit });
      for (const ch of chunks) c.stream.write(ch);
      const r = await c.finish();
      const all = Buffer.concat(chunks);
      const kept = all.subarray(0, limit);
      expect(Buffer.concat(terminal.chunks).equals(all), 'the passthrough gets every byte').to.equal(true);
      expect(terminal.writableEnded, 'the passthrough is not ended').to.equal(false);
      expect(readFileSync(file).equals(kept), 'the file gets exactly the first limitBytes').to.equal(true);
      expect(r).to.deep.equal({ file: 'stdout.txt', sha256: sha(kept), bytes: kept.length, total_bytes: all.length, truncated: all.length > limit, limit_bytes: limit });
      expect(r.sha256).to.equal(sha(readFileSync(file)));
    });
  }

  it('a big stream through a pipe-like passthrough: order and bytes kept, digest of the file', async () => {
    const terminal = new Collect({ highWaterMark: 1024 });
    const file = join(dir.dir, 'big.txt');
    const c = captureStream({ file, passthrough: terminal, limitBytes: 1_000_000 });
    const parts = Array.from({ length: 300 }, (_, i) => Buffer.alloc(10_000, i % 256));
    for (const p of parts) if (!c.stream.write(p)) await new Promise((r) => c.stream.once('drain', r));
    const r = await c.finish();
    expect(Buffer.concat(terminal.chunks).equals(Buffer.concat(parts))).to.equal(true);
    expect(r).to.include({ bytes: 1_000_000, total_bytes: 3_000_000, truncated: true });
    expect(sha(readFileSync(file))).to.equal(r.sha256);
  });

  it('the file is 0644 whatever the umask; finish() twice answers the same', async () => {
    const old = process.umask(0o077);
    try {
      const file = join(dir.dir, 'stderr.txt');
      const c = captureStream({ file, passthrough: new Collect(), limitBytes: 10 });
      c.stream.write('x');
      const [a, b] = await Promise.all([c.finish(), c.finish()]);
      expect(a).to.deep.equal(b);
      expect(statSync(file).mode & 0o777).to.equal(0o644);
    } finally {
      process.umask(old);
    }
  });

  it('never writes through an existing file or symlink', () => {
    const target = join(dir.dir, 'target');
    writeFileSync(target, 'keep');
    symlinkSync(target, join(dir.dir, 'link'));
    expect(() => captureStream({ file: join(dir.dir, 'link'), passthrough: new Collect(), limitBytes: 10 })).to.throw(/EEXIST|ELOOP/);
    expect(() => captureStream({ file: target, passthrough: new Collect(), limitBytes: 10 })).to.throw(/EEXIST/);
    expect(readFileSync(target, 'utf8')).to.equal('keep');
  });

  it('a passthrough that fails (EPIPE) is dropped; the file still gets the output', async () => {
    const terminal = new Collect();
    const file = join(dir.dir, 'out.txt');
    const c = captureStream({ file, passthrough: terminal, limitBytes: 100 });
    c.stream.write('one ');
    terminal.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    c.stream.write('two');
    const r = await c.finish();
    expect(readFileSync(file, 'utf8')).to.equal('one two');
    expect(r.total_bytes).to.equal(7);
    expect(terminal.listenerCount('error'), 'its error listener is removed by finish').to.equal(0);
  });
});
