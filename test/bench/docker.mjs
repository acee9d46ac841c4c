#!/usr/bin/env node
// Docker runner overhead (issue #4): median wall time of `mlcube run --platform=docker` of a trivial task vs a bare
// `docker run --rm` of the same image, mounts and user, and the floor of any Node.js runner (floorScript).
// Needs a running dockerd. Usage: node test/bench/docker.mjs [rounds, default 101 (~3.5 min)]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(repo, 'dist', 'mlcube'); // the command as installed (package.json bin)
// 101 rounds: a 31-round median still moves by ±0.04 from run to run on a shared 2-core VM.
const runs = Number(process.argv[2] ?? 101);
const env = { ...process.env, MLCUBE_SYSTEM_SETTINGS: join(tmpdir(), 'mlcube-bench-settings.yaml'), MLCUBE_LOG_LEVEL: 'warning' };
const image = 'mlcube-bench/noop:0.0.1';
// The floor starts Node.js without NODE_EXTRA_CA_CERTS, as the mlcube bin does (src/cli/mlcube.sh).
const floorEnv = { ...env };
delete floorEnv.NODE_EXTRA_CA_CERTS;

/**
 * What any Node.js runner must do at least, as a CommonJS script: load dockerode from its bundle through the
 * build's V8 code cache (as src/code-cache.ts does), give it the runner's agent (runners/docker.ts localDocker)
 * and run the container the runner's way.
 */
function floorScript(user, outDir) {
  const bundle = join(repo, 'dist', 'vendor-docker.cjs');
  const options = { Image: image, Cmd: ['noop', '--out=/mlcube_io0'], User: user, AttachStdout: true, AttachStderr: true, HostConfig: { Binds: [`${outDir}:/mlcube_io0`] } };
  return `const { readFileSync } = require('node:fs');
const vm = require('node:vm');
const source = '(function (exports, require, module, __filename, __dirname) {' + readFileSync(${JSON.stringify(bundle)}, 'latin1') + '\\n})';
const mod = { exports: {} };
new vm.Script(source, { filename: ${JSON.stringify(bundle)}, cachedData: readFileSync(${JSON.stringify(bundle + '.v8-cache')}) }).runInThisContext()(mod.exports, require, mod, ${JSON.stringify(bundle)}, ${JSON.stringify(dirname(bundle))});
const docker = new mod.exports.dockerode();
docker.modem.agent = new (require('node:http').Agent)({ servername: '' });
(async () => {
  const c = await docker.createContainer(${JSON.stringify(options)});
  docker.modem.demuxStream(await c.attach({ stream: true, stdout: true, stderr: true }), process.stdout, process.stderr);
  const exited = c.wait({ condition: 'next-exit' });
  await c.start();
  process.exitCode = (await exited).StatusCode;
  await c.remove({ force: true });
})();`;
}

function time(cmd, args, withEnv = env) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env: withEnv, stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}
function report(label, samples) {
  const xs = [...samples].sort((a, b) => a - b);
  const m = xs[Math.floor(xs.length / 2)];
  console.log(`${label.padEnd(40)} median ${m.toFixed(3)} s  min ${xs[0].toFixed(3)} s  max ${xs.at(-1).toFixed(3)} s  (n=${xs.length})`);
  return m;
}

const cube = mkdtempSync(join(tmpdir(), 'mlcube-bench-docker-'));
try {
  writeFileSync(join(cube, 'noop.mjs'), '// no-op task\n');
  writeFileSync(join(cube, 'Dockerfile'), 'FROM mlcube/node-base:20\nCOPY noop.mjs /noop.mjs\nENTRYPOINT ["node", "/noop.mjs"]\n');
  writeFileSync(join(cube, 'mlcube.yaml'), `name: noop\ndocker:\n  image: ${image}\n  build_strategy: auto\ntasks:\n  noop:\n    parameters:\n      outputs:\n        out: {type: directory, default: out/}\n`);
  mkdirSync(join(cube, 'workspace', 'out'), { recursive: true });
  for (const args of [['base-image'], ['configure', `--mlcube=${cube}`, '--platform=docker']]) {
    const r = spawnSync(bin, args, { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`setup ${args.join(' ')} failed: ${r.stderr}`);
  }
  const user = `${process.getuid()}:${process.getgid()}`;
  const bareRun = () => time('docker', ['run', '--rm', '-u', user, '-v', `${join(cube, 'workspace', 'out')}:/mlcube_io0`, image, 'noop', '--out=/mlcube_io0']);
  const oursRun = () => time(bin, ['run', `--mlcube=${cube}`, '--platform=docker', '--task=noop']);
  const floorRun = () => time(process.execPath, ['-e', floorScript(user, join(cube, 'workspace', 'out'))], floorEnv);
  // Interleaved, so a drift of the machine (other load, page cache, daemon state) hits all sides alike.
  bareRun();
  oursRun();
  floorRun();
  const pairs = Array.from({ length: runs }, () => [bareRun(), oursRun(), floorRun()]);
  const bare = report('docker run --rm (bare)', pairs.map((p) => p[0]));
  const ours = report('mlcube run --platform=docker', pairs.map((p) => p[1]));
  const ratio = ours / bare;
  const pairRatios = pairs.map(([b, o]) => o / b).sort((x, y) => x - y);
  console.log(`\noverhead ratio mlcube/bare (medians) = ${ratio.toFixed(3)} (target <= 1.20): ${ratio <= 1.2 ? 'met' : 'NOT met'}; added ${((ours - bare) * 1000).toFixed(0)} ms`);
  console.log(`  (median of the ${runs} per-round ratios: ${pairRatios[Math.floor(runs / 2)].toFixed(3)}, quartiles ${pairRatios[Math.floor(runs / 4)].toFixed(3)}–${pairRatios[Math.floor((3 * runs) / 4)].toFixed(3)})`);
  const floor = report('\nfloor: node + dockerode, nothing else', pairs.map((p) => p[2]));
  console.log(`  (a process that only starts Node.js, loads the same dockerode bundle and runs the container as the runner does: ${(floor / bare).toFixed(3)}x the bare docker run)`);
  await containerPhases(user, join(cube, 'workspace', 'out'), bareRun);
} finally {
  rmSync(cube, { recursive: true, force: true });
}

/**
 * Where the overhead is: the container phase alone (create -> removed), in this process with the same dockerode
 * bundle the runner uses, the runner's way (wait next-exit, then DELETE) and the docker CLI's way (AutoRemove,
 * wait until removed), beside the whole `docker run --rm`. No process start on the dockerode side.
 */
async function containerPhases(user, outDir, bareRun) {
  const { dockerode: Docker } = createRequire(import.meta.url)(join(repo, 'dist', 'vendor-docker.cjs'));
  const docker = new Docker();
  const options = (autoRemove) => ({ Image: image, Cmd: ['noop', '--out=/mlcube_io0'], User: user, AttachStdout: true, AttachStderr: true, HostConfig: { Binds: [`${outDir}:/mlcube_io0`], AutoRemove: autoRemove } });
  const phase = async (autoRemove) => {
    const t0 = performance.now();
    const container = await docker.createContainer(options(autoRemove));
    (await container.attach({ stream: true, stdout: true, stderr: true })).resume();
    const waiting = container.wait({ condition: autoRemove ? 'removed' : 'next-exit' });
    await container.start();
    await waiting;
    if (!autoRemove) await container.remove({ force: true });
    return (performance.now() - t0) / 1000;
  };
  const rounds = Math.max(5, Math.ceil(runs / 2));
  const samples = { runner: [], cli: [], bare: [] };
  for (let i = 0; i < rounds; i++) {
    samples.runner.push(await phase(false));
    samples.cli.push(await phase(true));
    samples.bare.push(bareRun());
  }
  console.log('\ncontainer phase only (create -> removed, dockerode in this process):');
  report('  as the runner does it', samples.runner);
  report('  as the docker CLI does it', samples.cli);
  report('  whole docker run --rm, for scale', samples.bare);
}
