#!/usr/bin/env node
// CLI start-up benchmark (issues #2, #14): median wall time of `show_config` on the corpus MNIST cube, and the
// overhead of `mlcube run` of a no-op local task over running the same task directly, each through the `mlcube`
// command as npm installs it (package.json "bin"). With --against=<another built checkout> (repeatable), each build
// runs in every round, interleaved, and the differences are paired per round.
// Usage: node test/bench/cli.mjs [--rounds=31] [--against=<dir>]...
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { benchArgs, interleave, load, ms, pairedDelta, report, repo, time } from './compare.mjs';

const { rounds, builds } = benchArgs(31);
const corpusMnist = resolve(repo, '..', 'shared', 'mlcube-corpus', 'mlcube_examples', 'mnist');
const target = existsSync(corpusMnist) ? corpusMnist : join(repo, 'cubes', 'mnist');
// The Python MLCube, where installed: the show_config target is then half its time (else 0.15 s).
const python = spawnSync('python3', ['-c', 'import mlcube'], { stdio: 'ignore' }).status === 0;
const baseEnv = { ...process.env, MLCUBE_SYSTEM_SETTINGS: join(tmpdir(), 'mlcube-bench-settings.yaml'), MLCUBE_LOG_LEVEL: 'warning' };

console.log(`node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${rounds} interleaved rounds`);
builds.forEach((b, i) => console.log(`build ${i}: ${b.label}  (${b.bin})`));
const root = mkdtempSync(join(tmpdir(), 'mlcube-bench-'));
const cube = join(root, 'cube');
try {
  mkdirSync(cube);
  writeFileSync(join(cube, 'noop.mjs'), '// no-op task\n');
  writeFileSync(join(cube, 'mlcube.yaml'), 'name: noop\nlocal:\n  command: node noop.mjs\ntasks:\n  noop:\n    parameters:\n      outputs:\n        out: {type: directory, default: out/}\n');
  mkdirSync(join(cube, 'workspace'));
  // One workspace per build, outside the cube (whose code the record digests): each run adds a record.
  builds.forEach((_, i) => mkdirSync(join(root, `ws${i}`)));
  measure('as this environment is', baseEnv);
  if (baseEnv.NODE_EXTRA_CA_CERTS) {
    // Node.js 20 parses that file at every process start, before any JavaScript runs (nodejs/node#40524).
    console.log(`\nNODE_EXTRA_CA_CERTS=${baseEnv.NODE_EXTRA_CA_CERTS} is set here; the same without it:`);
    const env = { ...baseEnv };
    delete env.NODE_EXTRA_CA_CERTS;
    measure('without NODE_EXTRA_CA_CERTS', env);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}

function measure(label, env) {
  const commands = {
    node: () => time('node', ['-e', '0'], { cwd: cube, env }),
    bare: () => time('node', ['noop.mjs', 'noop', `--out=${join(cube, 'workspace', 'out')}`], { cwd: cube, env }),
  };
  if (python) commands.python = () => time('python3', ['-m', 'mlcube', 'show_config', `--mlcube=${target}`], { cwd: tmpdir(), env });
  builds.forEach((b, i) => {
    commands[`show${i}`] = () => time(b.bin, ['show_config', `--mlcube=${target}`], { cwd: tmpdir(), env });
    commands[`run${i}`] = () => time(b.bin, ['run', `--mlcube=${cube}`, `--workspace=${join(root, `ws${i}`)}`, '--platform=local', '--task=noop', '--no-cache'], { cwd: tmpdir(), env });
  });
  const s = interleave(commands, rounds);
  console.log(`\n[${label}] (load average ${load()} at the end)`);
  report("node -e 0 (this machine's Node.js start)", s, 'node');
  const bare = report('bare task: node noop.mjs noop --out=...', s, 'bare');
  const py = python ? report('Python MLCube: python3 -m mlcube show_config', s, 'python') : undefined;
  const showTarget = py ? py / 2 : 0.15;
  const paired = (m, a, b) => ms(pairedDelta(s[m][a], s[m][b]));
  builds.forEach((b, i) => {
    console.log(`build ${i}: ${b.label}`);
    const show = report(`  show_config --mlcube=${existsSync(corpusMnist) ? '<corpus>/mnist' : 'cubes/mnist'}`, s, `show${i}`);
    const run = report('  run --platform=local --task=noop', s, `run${i}`);
    const over = run - bare;
    console.log(`  show_config ${show.toFixed(3)} s (target <= ${showTarget.toFixed(3)} s${py ? ', half the Python MLCube' : ''}): ${show <= showTarget ? 'met' : 'NOT met'}`);
    console.log(
      `  run over the bare task ${ms(over)} (paired per round: wall ${paired('wall', `run${i}`, 'bare')}, cpu ${paired('cpu', `run${i}`, 'bare')}; target <= +150 ms wall): ${over <= 0.15 ? 'met' : 'NOT met'}`,
    );
    // Paired per round, against build 0 and (for a chain of builds, one change each) against the build before.
    for (const j of new Set([0, i - 1])) {
      if (j >= 0 && j !== i)
        console.log(
          `  build ${j} - build ${i}, paired per round: show_config wall ${paired('wall', `show${j}`, `show${i}`)} cpu ${paired('cpu', `show${j}`, `show${i}`)}; run wall ${paired('wall', `run${j}`, `run${i}`)} cpu ${paired('cpu', `run${j}`, `run${i}`)}`,
        );
    }
  });
}
