#!/usr/bin/env node
// Docker runner overhead (issues #4, #14): median wall time of `mlcube run --platform=docker` of a trivial task vs a
// bare `docker run --rm` of the same image, mounts and user, and the floor of any Node.js runner (floorScript). With
// --against=<another built checkout> (repeatable), each build runs in every round, interleaved.
// Needs a running dockerd. Usage: node test/bench/docker.mjs [--rounds=61] [--against=<dir>]...
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchArgs, interleave, load, ms, pairedDelta, report, repo, time } from './compare.mjs';

// 61 rounds: a 31-round median of this ratio moves by a few hundredths from run to run on a shared 2-core VM.
const { rounds, builds } = benchArgs(61);
const env = { ...process.env, MLCUBE_SYSTEM_SETTINGS: join(tmpdir(), 'mlcube-bench-settings.yaml'), MLCUBE_LOG_LEVEL: 'warning' };
const image = 'mlcube-bench/noop:0.0.1';

/**
 * What any Node.js runner must do at least: start Node.js, load dockerode (this checkout's node_modules) and run
 * the container the runner's way (runners/docker.ts: attach, wait next-exit, start, remove).
 */
function floorScript(user, outDir) {
  const options = { Image: image, Cmd: ['noop', '--out=/mlcube_io0'], User: user, AttachStdout: true, AttachStderr: true, HostConfig: { Binds: [`${outDir}:/mlcube_io0`] } };
  return `const Docker = require(${JSON.stringify(join(repo, 'node_modules', 'dockerode'))});
const docker = new Docker();
(async () => {
  const c = await docker.createContainer(${JSON.stringify(options)});
  docker.modem.demuxStream(await c.attach({ stream: true, stdout: true, stderr: true }), process.stdout, process.stderr);
  const exited = c.wait({ condition: 'next-exit' });
  await c.start();
  process.exitCode = (await exited).StatusCode;
  await c.remove({ force: true });
})();`;
}

console.log(`node ${process.version}, ${rounds} interleaved rounds${env.NODE_EXTRA_CA_CERTS ? `, NODE_EXTRA_CA_CERTS=${env.NODE_EXTRA_CA_CERTS} (as this environment is)` : ''}`);
builds.forEach((b, i) => console.log(`build ${i}: ${b.label}  (${b.bin})`));
const root = mkdtempSync(join(tmpdir(), 'mlcube-bench-docker-'));
const cube = join(root, 'cube');
try {
  mkdirSync(cube);
  writeFileSync(join(cube, 'noop.mjs'), '// no-op task\n');
  writeFileSync(join(cube, 'Dockerfile'), 'FROM mlcube/node-base:20\nCOPY noop.mjs /noop.mjs\nENTRYPOINT ["node", "/noop.mjs"]\n');
  writeFileSync(
    join(cube, 'mlcube.yaml'),
    `name: noop\ndocker:\n  image: ${image}\n  build_strategy: auto\ntasks:\n  noop:\n    parameters:\n      outputs:\n        out: {type: directory, default: out/}\n`,
  );
  mkdirSync(join(cube, 'workspace', 'out'), { recursive: true });
  // One workspace per build, outside the cube (whose code the record digests): each run adds a record.
  builds.forEach((_, i) => mkdirSync(join(root, `ws${i}`, 'out'), { recursive: true }));
  for (const args of [['base-image'], ['configure', `--mlcube=${cube}`, '--platform=docker']]) {
    const r = spawnSync(builds[0].bin, args, { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`setup ${args.join(' ')} failed: ${r.stderr}`);
  }
  const user = `${process.getuid()}:${process.getgid()}`;
  const commands = {
    bare: () => time('docker', ['run', '--rm', '-u', user, '-v', `${join(cube, 'workspace', 'out')}:/mlcube_io0`, image, 'noop', '--out=/mlcube_io0'], { env }),
    floor: () => time(process.execPath, ['-e', floorScript(user, join(cube, 'workspace', 'out'))], { env }),
  };
  builds.forEach((b, i) => {
    commands[`ours${i}`] = () => time(b.bin, ['run', `--mlcube=${cube}`, `--workspace=${join(root, `ws${i}`)}`, '--platform=docker', '--task=noop', '--no-cache'], { env });
  });
  const s = interleave(commands, rounds);
  console.log(`(load average ${load()} at the end; cpu: the client process only, the container's is the daemon's)`);
  const bare = report('docker run --rm (bare)', s, 'bare');
  const floor = report('floor: node + dockerode, nothing else', s, 'floor');
  console.log(`  (${(floor / bare).toFixed(3)}x the bare docker run)`);
  builds.forEach((b, i) => {
    console.log(`build ${i}: ${b.label}`);
    const ours = report('  mlcube run --platform=docker', s, `ours${i}`);
    const ratios = s.wall[`ours${i}`].map((o, k) => o / s.wall.bare[k]).sort((x, y) => x - y);
    const q = (f) => ratios[Math.floor(f * (ratios.length - 1))].toFixed(3);
    console.log(
      `  ratio mlcube/bare (medians) ${(ours / bare).toFixed(3)} (target <= 1.40): ${ours / bare <= 1.4 ? 'met' : 'NOT met'}; added ${ms(ours - bare)}; per-round ratios median ${q(0.5)}, quartiles ${q(0.25)}-${q(0.75)}`,
    );
    // Paired per round, against build 0 and (for a chain of builds, one change each) against the build before.
    for (const j of new Set([0, i - 1])) {
      if (j >= 0 && j !== i)
        console.log(`  build ${j} - build ${i}, paired per round: wall ${ms(pairedDelta(s.wall[`ours${j}`], s.wall[`ours${i}`]))}, cpu ${ms(pairedDelta(s.cpu[`ours${j}`], s.cpu[`ours${i}`]))}`);
    }
  });
} finally {
  rmSync(root, { recursive: true, force: true });
}
