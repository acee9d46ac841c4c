#!/usr/bin/env node
// Tree-digest benchmark: the runtime's digestPath (mlcube-tree-v1) on 100,000 small files (1,000 dirs x 100 files,
// 0-4 KiB, deterministic content) vs `find DIR -type f -print0 | xargs -0 sha256sum >/dev/null`, warm cache, best
// of 3 each; target: digestPath within 2x. Also prints the manifest's size, and the same tree as the input of a real
// signed `mlcube run` (fixture cube basic, task consume, local runner): the run with and without its record,
// `provenance verify`, `runs list`, `runs show` and the size of record.json. Not a test (mocha never runs it).
// Usage: node test/bench/tree-hash.mjs [dirs] [files-per-dir]   (needs `npm run build` first)
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { best, repo } from './compare.mjs';

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

  // The same tree as the input of a real run: `consume` reads workspace/out/ (its input out_dir).
  const cube = join(tmp, 'cube');
  cpSync(join(repo, 'test', 'fixtures', 'cubes', 'basic'), cube, { recursive: true });
  renameSync(tree, join(cube, 'workspace', 'out'));
  const bin = join(repo, 'dist', 'mlcube.cjs');
  const base = { ...process.env, MLCUBE_SYSTEM_SETTINGS: join(tmp, 'none.yaml'), MLCUBE_LOG_LEVEL: 'warning' };
  spawnSync(bin, ['keys', 'generate', `--dir=${join(tmp, 'keys')}`], { env: base });
  const signed = { ...base, MLCUBE_SIGNING_KEY: join(tmp, 'keys', 'signing.key') };
  const cli = (args, env = signed) => {
    const t = performance.now();
    const r = spawnSync(bin, args, { env, maxBuffer: 1 << 28 });
    if (r.status !== 0) throw new Error(`mlcube ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
    return { s: (performance.now() - t) / 1000, stdout: String(r.stdout) };
  };
  const run = ['run', `--mlcube=${cube}`, '--platform=local', '--task=consume', '--json', '--no-cache'];
  const bare = Math.min(...[0, 1, 2].map(() => cli(run, { ...base, MLCUBE_RECORD: 'off' }).s));
  const runs = [0, 1, 2].map(() => cli(run));
  const recorded = Math.min(...runs.map((r) => r.s));
  const id = JSON.parse(runs[2].stdout).tasks[0].run_id;
  const ws = join(cube, 'workspace');
  const dir = join(ws, '.mlcube', 'runs', id);
  const verify = Math.min(...[0, 1, 2].map(() => cli(['provenance', 'verify', dir]).s));
  const list = Math.min(...[0, 1, 2].map(() => cli(['runs', 'list', `--workspace=${ws}`]).s));
  const show = Math.min(...[0, 1, 2].map(() => cli(['runs', 'show', id, `--workspace=${ws}`]).s));
  console.log(`mlcube run, no record    ${bare.toFixed(3)} s   (the task only lists out/)`);
  console.log(`mlcube run, signed       ${recorded.toFixed(3)} s   (record overhead ${(recorded - bare).toFixed(3)} s)`);
  console.log(`provenance verify        ${verify.toFixed(3)} s`);
  console.log(`runs list (3 runs)       ${list.toFixed(3)} s`);
  console.log(`runs show                ${show.toFixed(3)} s`);
  console.log(`record.json              ${statSync(join(dir, 'record.json')).size} bytes; manifest beside it ${statSync(join(dir, 'manifests', 'input-out_dir.txt')).size} bytes`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
