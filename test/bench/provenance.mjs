#!/usr/bin/env node
// Provenance benchmark (issue #6): sha256 throughput of the runtime's streaming hasher vs `sha256sum` on a 1 GiB
// file (best of 3 each, warm cache), and the run record's overhead on a trivial local task (MLCUBE_RECORD=off vs on,
// signed). Usage: node test/bench/provenance.mjs [runs]   (needs `npm run build`)
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, openSync, writeSync, closeSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { best, repo } from './compare.mjs';

const { sha256File } = await import(join(repo, 'dist', 'src', 'provenance', 'digest.js'));
const runs = Number(process.argv[2] ?? 11);
const tmp = mkdtempSync(join(tmpdir(), 'mlcube-bench-prov-'));
try {
  const big = join(tmp, 'big.bin');
  const fd = openSync(big, 'w');
  const block = randomFillSync(Buffer.alloc(64 << 20));
  for (let i = 0; i < 16; i++) writeSync(fd, block);
  closeSync(fd);
  const GiB = 1 << 30;
  const tSum = await best(() => {
    const r = spawnSync('sha256sum', [big]);
    if (r.status !== 0) throw new Error('sha256sum failed');
  });
  const tOurs = await best(() => sha256File(big));
  const mbs = (t) => (GiB / t / 1e6).toFixed(0);
  console.log(`sha256sum       ${tSum.toFixed(3)} s  ${mbs(tSum)} MB/s`);
  console.log(`mlcube hasher   ${tOurs.toFixed(3)} s  ${mbs(tOurs)} MB/s  (${((tSum / tOurs) * 100).toFixed(0)} % of sha256sum; target >= 80 %)`);
  rmSync(big);

  const cube = join(tmp, 'cube');
  cpSync(join(repo, 'test', 'fixtures', 'cubes', 'basic'), cube, { recursive: true });
  const cli = join(repo, 'dist', 'mlcube.cjs');
  const base = { ...process.env, MLCUBE_SYSTEM_SETTINGS: join(tmp, 'none.yaml'), MLCUBE_LOG_LEVEL: 'warning' };
  spawnSync('node', [cli, 'keys', 'generate', `--dir=${join(tmp, 'keys')}`], { env: base });
  const time = (env) => {
    const t = process.hrtime.bigint();
    const r = spawnSync('node', [cli, 'run', `--mlcube=${cube}`, '--platform=local', '--task=copy', '--no-cache'], { env });
    if (r.status !== 0) throw new Error(String(r.stderr));
    return Number(process.hrtime.bigint() - t) / 1e6;
  };
  const median = (env) => {
    time(env);
    const xs = Array.from({ length: runs }, () => time(env)).sort((a, b) => a - b);
    return xs[Math.floor(xs.length / 2)];
  };
  const off = median({ ...base, MLCUBE_RECORD: 'off' });
  const on = median({ ...base, MLCUBE_SIGNING_KEY: join(tmp, 'keys', 'signing.key') });
  console.log(`trivial task, no record      median ${off.toFixed(1)} ms (n=${runs})`);
  console.log(`trivial task, signed record  median ${on.toFixed(1)} ms (n=${runs})`);
  console.log(`record overhead              ${(on - off).toFixed(1)} ms (target < 50 ms)`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
