#!/usr/bin/env node
// Tree-digest benchmark: the runtime's digestPath (mlcube-tree-v1) on 100,000 small files (1,000 dirs x 100 files,
// 0-4 KiB, deterministic content) vs `find DIR -type f -print0 | xargs -0 sha256sum >/dev/null`, warm cache, best
// of 3 each; target: digestPath within 2x. Also prints the manifest's size. Not a test (mocha never runs it).
// Usage: node test/bench/tree-hash.mjs [dirs] [files-per-dir]   (needs `npx tsc -p tsconfig.json` first)
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { digestPath, manifestText } = await import(join(repo, 'dist', 'src', 'provenance', 'digest.js'));
const dirs = Number(process.argv[2] ?? 1000);
const perDir = Number(process.argv[3] ?? 100);
const tmp = mkdtempSync(join(tmpdir(), 'mlcube-bench-tree-'));
const tree = join(tmp, 'tree');
try {
  // Deterministic content: slices of one LCG-filled pool, sizes 0..4096 bytes.
  let seed = 1;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  const pool = Buffer.alloc(8192);
  for (let i = 0; i < pool.length; i++) pool[i] = rnd() >>> 24;
  let bytes = 0;
  for (let d = 0; d < dirs; d++) {
    const dir = join(tree, `d${String(d).padStart(4, '0')}`);
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < perDir; f++) {
      const n = rnd() % 4097;
      const o = rnd() % 4096;
      writeFileSync(join(dir, `f${String(f).padStart(3, '0')}`), pool.subarray(o, o + n));
      bytes += n;
    }
  }
  const findSum = () => {
    const r = spawnSync('sh', ['-c', 'find "$1" -type f -print0 | xargs -0 sha256sum >/dev/null', 'sh', tree]);
    if (r.status !== 0) throw new Error(`find | xargs sha256sum failed: ${r.stderr}`);
  };
  const best = async (fn) => {
    let b = Infinity;
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      await fn();
      b = Math.min(b, performance.now() - t);
    }
    return b / 1000;
  };
  // Warm the page cache (and the JIT) before timing either.
  findSum();
  const d = await digestPath(tree);
  const tSum = await best(findSum);
  const tOurs = await best(() => digestPath(tree));
  const ratio = tOurs / tSum;
  console.log(`tree: ${dirs * perDir} files in ${dirs} dirs, ${(bytes / 1e6).toFixed(0)} MB`);
  console.log(`find | xargs sha256sum   ${tSum.toFixed(3)} s`);
  console.log(`mlcube digestPath        ${tOurs.toFixed(3)} s  (${ratio.toFixed(2)}x of find | xargs sha256sum; target <= 2x: ${ratio <= 2 ? 'met' : 'NOT met'})`);
  console.log(`manifest                 ${d.entries.length} entries, ${Buffer.byteLength(manifestText(d.entries), 'utf8')} bytes, digest ${d.sha256}`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
