#!/usr/bin/env node
// Task cache benchmark (issue #19: "a second identical `npm start` skips all its tasks in under 2 s"): the MNIST
// cube's download, train, export and evaluate in a fresh workspace, then the same command again (every task cached),
// `rounds` times, each timed as a whole `mlcube run` (process start to exit). The quick training config keeps the
// first run short; the second run does no training whatever the config, so its time is what `npm start` sees.
// Usage: node test/bench/cache.mjs [--rounds=5]
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const rounds = Number(/^--rounds=(\d+)$/.exec(process.argv[2] ?? '')?.[1] ?? 5);
const ws = mkdtempSync(join(tmpdir(), 'mlcube-bench-cache-'));
const run = (extra = []) => {
  const t = performance.now();
  const r = spawnSync(
    'node',
    [
      join(repo, 'dist', 'mlcube.cjs'),
      'run',
      `--mlcube=${join(repo, 'cubes', 'mnist')}`,
      '--platform=local',
      '--task=download,train,export,evaluate',
      `--workspace=${ws}`,
      'train_config=train-quick.yaml',
      '-Ptasks.evaluate.gates.test_accuracy.min=0.85',
      '-Ptasks.evaluate.gates.min_class_accuracy.min=0.7',
      '--log-level=info',
      ...extra,
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`mlcube run exited ${r.status}:\n${r.stderr}`);
  return { ms: performance.now() - t, cached: (r.stderr.match(/: cached: /g) ?? []).length };
};
try {
  for (const f of ['data.yaml', 'mnist-offline.npz', 'train-quick.yaml']) copyFileSync(join(repo, 'cubes', 'mnist', 'workspace', f), join(ws, f));
  console.log(`node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'})`);
  const first = run();
  console.log(`first run (every task runs): ${(first.ms / 1000).toFixed(2)} s`);
  const times = [];
  for (let i = 0; i < rounds; i++) {
    const again = run();
    if (again.cached !== 4) throw new Error(`expected 4 cached tasks, got ${again.cached}`);
    times.push(again.ms);
  }
  times.sort((a, b) => a - b);
  console.log(`second run, 4 of 4 tasks cached: median ${(times[times.length >> 1] / 1000).toFixed(2)} s, max ${(times[times.length - 1] / 1000).toFixed(2)} s over ${rounds} runs`);
} finally {
  rmSync(ws, { recursive: true, force: true });
}
