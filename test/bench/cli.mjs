#!/usr/bin/env node
// CLI speed benchmark (issue #2): median wall time of `show_config` on the corpus MNIST cube, and the overhead
// of `mlcube run` of a no-op local task over running the same task directly. Usage: node test/bench/cli.mjs [runs]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(repo, 'dist', 'mlcube.mjs');
const runs = Number(process.argv[2] ?? 21);
const corpusMnist = resolve(repo, '..', 'shared', 'mlcube-corpus', 'mlcube_examples', 'mnist');
const env = { ...process.env, MLCUBE_SYSTEM_SETTINGS: join(tmpdir(), 'mlcube-bench-settings.yaml'), MLCUBE_LOG_LEVEL: 'warning' };

function time(cmd, args, cwd) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return s;
}

function stats(label, fn) {
  fn(); // warm the file cache
  const xs = Array.from({ length: runs }, fn).sort((a, b) => a - b);
  const median = xs[Math.floor(xs.length / 2)];
  const p90 = xs[Math.floor(xs.length * 0.9)];
  console.log(`${label.padEnd(44)} median ${median.toFixed(3)} s   p90 ${p90.toFixed(3)} s   (n=${runs})`);
  return median;
}

if (!existsSync(cli)) throw new Error('build first: npm run build');
console.log(`node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'})`);

const target = existsSync(corpusMnist) ? corpusMnist : join(repo, 'cubes', 'mnist');
const show = stats(`show_config --mlcube=${existsSync(corpusMnist) ? '<corpus>/mnist' : 'cubes/mnist'}`, () => time('node', [cli, 'show_config', `--mlcube=${target}`], tmpdir()));

const cube = mkdtempSync(join(tmpdir(), 'mlcube-bench-'));
try {
  writeFileSync(join(cube, 'noop.mjs'), '// no-op task\n');
  writeFileSync(join(cube, 'mlcube.yaml'), 'name: noop\nlocal:\n  command: node noop.mjs\ntasks:\n  noop:\n    parameters:\n      outputs:\n        out: {type: directory, default: out/}\n');
  mkdirSync(join(cube, 'workspace'));
  const bare = stats('bare task: node noop.mjs noop --out=...', () => time('node', ['noop.mjs', 'noop', `--out=${join(cube, 'workspace', 'out')}`], cube));
  const run = stats('mlcube run --platform=local --task=noop', () => time('node', [cli, 'run', `--mlcube=${cube}`, '--platform=local', '--task=noop'], tmpdir()));
  env.MLCUBE_RECORD = 'off';
  const bareRun = stats('  same, run record off (MLCUBE_RECORD=off)', () => time('node', [cli, 'run', `--mlcube=${cube}`, '--platform=local', '--task=noop'], tmpdir()));
  delete env.MLCUBE_RECORD;
  const overhead = run - bare;
  console.log('');
  console.log(`show_config median ${show.toFixed(3)} s (target < 0.250 s): ${show < 0.25 ? 'met' : 'NOT met'}`);
  console.log(`run overhead over the bare task ${overhead.toFixed(3)} s (target < 0.150 s): ${overhead < 0.15 ? 'met' : 'NOT met'}`);
  console.log(`  of which the run record (digests, record, lineage, signature if a key is configured): ${(run - bareRun).toFixed(3)} s`);
} finally {
  rmSync(cube, { recursive: true, force: true });
}
