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

/**
 * Runs `cmd args` from a small Python wrapper that measures, around fork/exec/wait4 only (not its own start), the
 * wall time and the CPU time (user + sys, the command and the children it waited for: a task, not a container).
 * On a shared machine the CPU time moves far less with the others' load than the wall time does.
 */
const MEASURE = `import os, sys, time
t = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.close(3)
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, ru = os.wait4(pid, 0)
os.write(3, ('%d %.6f %.6f' % (os.waitstatus_to_exitcode(status), time.perf_counter() - t, ru.ru_utime + ru.ru_stime)).encode())`;

/** { wall, cpu } seconds of `cmd args`; throws on a failure (a bench of a failing command means nothing). */
export function time(cmd, args, opts) {
  const r = spawnSync('python3', ['-c', MEASURE, cmd, ...args], { ...opts, stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  const [status, wall, cpu] = String(r.output[3]).split(' ').map(Number);
  if (r.status !== 0 || status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${status}): ${r.stderr}`);
  return { wall, cpu };
}

/**
 * Runs each named command (returning time()'s result) once per round, `rounds` times, after one warm-up round. The
 * order is reversed every other round (A,B,C / C,B,A), so a drift of this shared machine, or a cost one command
 * leaves to the next (page cache, a daemon's state), falls on all alike. Returns the samples per name, by measure.
 */
export function interleave(commands, rounds) {
  const names = Object.keys(commands);
  for (const n of names) commands[n]();
  const wall = Object.fromEntries(names.map((n) => [n, []]));
  const cpu = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < rounds; i++) {
    for (const n of i % 2 ? [...names].reverse() : names) {
      const t = commands[n]();
      wall[n].push(t.wall);
      cpu[n].push(t.cpu);
    }
  }
  return { wall, cpu };
}

/** The load of this machine (1-minute average), to print beside wall times. */
/** The best of three runs of `fn` (awaited), in seconds: for throughput benches where the noise is only ever upward. */
export async function best(fn) {
  let b = Infinity;
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await fn();
    b = Math.min(b, performance.now() - t);
  }
  return b / 1000;
}

export const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ')[0];

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** The median of the per-round differences a[i] - b[i]: what a costs over b, with the rounds' drift paired out. */
export const pairedDelta = (a, b) => median(a.map((x, i) => x - b[i]));

/** Prints the wall-time median (p10, p90) and the CPU-time median of one command's samples; returns the first. */
export function report(label, samples, name) {
  const w = [...samples.wall[name]].sort((a, b) => a - b);
  const at = (f) => w[Math.floor(w.length * f)].toFixed(3);
  console.log(`${label.padEnd(52)} wall median ${median(w).toFixed(3)} s (p10 ${at(0.1)}, p90 ${at(0.9)})   cpu median ${median(samples.cpu[name]).toFixed(3)} s   (n=${w.length})`);
  return median(w);
}

export const ms = (s) => `${s >= 0 ? '+' : ''}${(s * 1000).toFixed(0)} ms`;
