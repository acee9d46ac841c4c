// What the start-up benches share: the builds compared (this checkout and `--against=<dir>` ones), rounds run
// interleaved, medians. Usage of a bench: node test/bench/<bench>.mjs [--rounds=N] [--against=<built checkout>]...
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** --rounds (default `rounds`) and the builds: this checkout first, then each --against (a built checkout). */
export function benchArgs(rounds) {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: String(rounds) }, against: { type: 'string', multiple: true, default: [] } } });
  const dirs = [repo, ...values.against.map((d) => resolve(d))];
  return { rounds: Number(values.rounds), builds: dirs.map(build) };
}

/** A built checkout: the `mlcube` command as npm installs it (package.json "bin"), run as a user runs it. */
function build(dir) {
  const bin = join(dir, JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).bin.mlcube);
  if (!existsSync(bin)) throw new Error(`${bin} is missing: build ${dir} first (npm run build)`);
  const rev = spawnSync('git', ['-C', dir, 'log', '-1', '--format=%h %s'], { encoding: 'utf8' }).stdout.trim().slice(0, 60);
  return { dir, bin, label: `${basename(dir)} (${rev})` };
}

/** Seconds `cmd args` took; throws on a failure (a bench of a failing command means nothing). */
export function time(cmd, args, opts) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { ...opts, stdio: ['ignore', 'ignore', 'pipe'] });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return s;
}

/**
 * Runs each named command once per round, `rounds` times, after one warm-up round. The order is reversed every
 * other round (A,B,C / C,B,A), so a drift of this shared machine, or a cost one command leaves to the next (page
 * cache, a daemon's state), falls on all alike. Returns the samples per name.
 */
export function interleave(commands, rounds) {
  const names = Object.keys(commands);
  for (const n of names) commands[n]();
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < rounds; i++) for (const n of i % 2 ? [...names].reverse() : names) samples[n].push(commands[n]());
  return samples;
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** The median of the per-round differences a[i] - b[i]: what a costs over b, with the rounds' drift paired out. */
export const pairedDelta = (a, b) => median(a.map((x, i) => x - b[i]));

export function report(label, xs) {
  const s = [...xs].sort((a, b) => a - b);
  console.log(`${label.padEnd(58)} median ${median(s).toFixed(3)} s   p10 ${s[Math.floor(s.length * 0.1)].toFixed(3)}   p90 ${s[Math.floor(s.length * 0.9)].toFixed(3)}   (n=${s.length})`);
  return median(s);
}

export const ms = (s) => `${s >= 0 ? '+' : ''}${(s * 1000).toFixed(0)} ms`;
