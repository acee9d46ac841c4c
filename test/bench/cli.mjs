#!/usr/bin/env node
// CLI speed benchmark (issue #2): median wall time of `show_config` on the corpus MNIST cube, and the overhead
// of `mlcube run` of a no-op local task over running the same task directly, both through the `mlcube` bin
// (dist/mlcube) as users run it. Usage: node test/bench/cli.mjs [runs]
// The commands are interleaved (one of each per round), so a drift of this shared machine hits them alike.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
// The command as installed (package.json bin), and the JavaScript it starts.
const bin = join(repo, 'dist', 'mlcube');
const cli = join(repo, 'dist', 'mlcube.cjs');
const runs = Number(process.argv[2] ?? 21);
const corpusMnist = resolve(repo, '..', 'shared', 'mlcube-corpus', 'mlcube_examples', 'mnist');
const env = { ...process.env, MLCUBE_SYSTEM_SETTINGS: join(tmpdir(), 'mlcube-bench-settings.yaml'), MLCUBE_LOG_LEVEL: 'warning' };

function time(cmd, args, cwd, extraEnv = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd, env: { ...env, ...extraEnv }, stdio: ['ignore', 'ignore', 'pipe'] });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return s;
}

function report(label, samples) {
  const xs = [...samples].sort((a, b) => a - b);
  const median = xs[Math.floor(xs.length / 2)];
  const p90 = xs[Math.floor(xs.length * 0.9)];
  console.log(`${label.padEnd(44)} median ${median.toFixed(3)} s   p90 ${p90.toFixed(3)} s   (n=${xs.length})`);
  return median;
}

if (!existsSync(bin)) throw new Error('build first: npm run build');
console.log(`node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'})`);
const target = existsSync(corpusMnist) ? corpusMnist : join(repo, 'cubes', 'mnist');
const cube = mkdtempSync(join(tmpdir(), 'mlcube-bench-'));
try {
  writeFileSync(join(cube, 'noop.mjs'), '// no-op task\n');
  writeFileSync(join(cube, 'mlcube.yaml'), 'name: noop\nlocal:\n  command: node noop.mjs\ntasks:\n  noop:\n    parameters:\n      outputs:\n        out: {type: directory, default: out/}\n');
  mkdirSync(join(cube, 'workspace'));
  measure('as this environment is');
  if (env.NODE_EXTRA_CA_CERTS) {
    // Node.js 20 parses that file at every process start, before any JavaScript runs (nodejs/node#40524): the
    // bare task pays it, and so does `node dist/mlcube.cjs`; the bin starts mlcube's own Node without it.
    console.log(`\nNODE_EXTRA_CA_CERTS=${env.NODE_EXTRA_CA_CERTS} is set here; the same without it:`);
    delete env.NODE_EXTRA_CA_CERTS;
    measure('without NODE_EXTRA_CA_CERTS');
  }
} finally {
  rmSync(cube, { recursive: true, force: true });
}

function measure(label) {
  const commands = {
    node: () => time('node', ['-e', '0'], cube),
    show: () => time(bin, ['show_config', `--mlcube=${target}`], tmpdir()),
    bare: () => time('node', ['noop.mjs', 'noop', `--out=${join(cube, 'workspace', 'out')}`], cube),
    run: () => time(bin, ['run', `--mlcube=${cube}`, '--platform=local', '--task=noop'], tmpdir()),
    runNoRecord: () => time(bin, ['run', `--mlcube=${cube}`, '--platform=local', '--task=noop'], tmpdir(), { MLCUBE_RECORD: 'off' }),
    runNode: () => time('node', [cli, 'run', `--mlcube=${cube}`, '--platform=local', '--task=noop'], tmpdir()),
  };
  for (const f of Object.values(commands)) f(); // warm the file cache
  const samples = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
  for (let i = 0; i < runs; i++) for (const [k, f] of Object.entries(commands)) samples[k].push(f());
  report("node -e 0 (this machine's Node.js start)", samples.node);
  const show = report(`show_config --mlcube=${existsSync(corpusMnist) ? '<corpus>/mnist' : 'cubes/mnist'}`, samples.show);
  const bare = report('bare task: node noop.mjs noop --out=...', samples.bare);
  const run = report('mlcube run --platform=local --task=noop', samples.run);
  const runNoRecord = report('  same, run record off (MLCUBE_RECORD=off)', samples.runNoRecord);
  report('  same, as node dist/mlcube.cjs (not the bin)', samples.runNode);
  const overhead = run - bare;
  console.log(`[${label}] show_config median ${show.toFixed(3)} s (target < 0.250 s): ${show < 0.25 ? 'met' : 'NOT met'}`);
  console.log(`[${label}] run overhead over the bare task ${overhead.toFixed(3)} s (target < 0.150 s): ${overhead < 0.15 ? 'met' : 'NOT met'}`);
  console.log(`[${label}]   of which the run record (digests, record, lineage, signature if a key is configured): ${(run - runNoRecord).toFixed(3)} s`);
}
