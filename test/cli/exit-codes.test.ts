import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { CLI, FIXTURES, REPO, copyFixture, mlcube, snapshot, type CliResult } from '../helpers/cli.js';
import { DockerRunner } from '../../runners/docker.js';

/** The codes of README's "Exit codes" table: numbers, and `task` for the row of the task's own codes. */
function documentedCodes(): string[] {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const table = readme.slice(readme.indexOf('## Exit codes'), readme.indexOf('\n## ', readme.indexOf('## Exit codes') + 5));
  return [...table.matchAll(/^\| (\S[^|]*?) \|/gm)]
    .map((m) => m[1])
    .filter((c) => c !== 'code' && !/^-+$/.test(c))
    .map((c) => (c.includes("task's own") ? 'task' : c));
}

interface Walk {
  /** Runs the scenario; undefined with a reason to skip (printed) when this machine cannot produce it. */
  run(cube: string): Promise<CliResult | { skip: string }>;
  exitCode: number;
  stderr?: RegExp;
  /** Codes 2-4 must change nothing on disk. */
  unchanged?: boolean;
}

const local = (cube: string, args: string[], env: Record<string, string> = {}) => mlcube(['run', `--mlcube=${cube}`, '--platform=local', ...args], { env });
const fakeBin = (b: string) => [join(FIXTURES, 'bin', b), dirname(process.execPath)].join(':');

/** One scenario per documented code: a test walks the whole table, so a code that is documented can be produced. */
const WALKS: Record<string, Walk> = {
  '0': { run: (c) => local(c, ['--task=copy']), exitCode: 0 },
  task: { run: (c) => local(c, ['--task=fail']), exitCode: 7, stderr: /MLCUBE_TASK_FAILED: task "fail": task failed with exit code 7/ },
  '2': { run: (c) => local(c, ['--task=nope']), exitCode: 2, stderr: /MLCUBE_/, unchanged: true },
  '3': {
    run: (c) => mlcube(['run', `--mlcube=${c}`, '--platform=docker', '--task=copy'], { env: { DOCKER_HOST: `unix://${c}/no-daemon.sock` } }),
    exitCode: 3,
    stderr: /MLCUBE_RUNTIME_MISSING: .*no Docker daemon answers/,
    unchanged: true,
  },
  '4': {
    run: (c) => mlcube(['run', `--mlcube=${c}`, '--platform=singularity', '--task=copy'], { env: { PATH: fakeBin('singularity'), FAKE_RUNTIME_LOG: '/dev/null', FAKE_RUNTIME_BUILD_EXIT: '255' } }),
    exitCode: 4,
    stderr: /MLCUBE_IMAGE_FAILED/,
    unchanged: false, // the image directory (<workspace>/.image) is the runner's own; the task's outputs and records must not exist
  },
  '5': {
    run: async (c) => {
      const r = await local(c, ['--task=copy', '--json']);
      return mlcube(['provenance', 'verify', JSON.parse(r.stdout).tasks[0].run_id, `--workspace=${join(c, 'workspace')}`]);
    },
    exitCode: 5,
    stderr: /MLCUBE_PROVENANCE_INVALID[\s\S]*the run is not signed/,
  },
  '6': {
    run: async (c) => {
      const docker = await new DockerRunner().probe();
      if (!docker.available) return { skip: `needs a Docker daemon (${docker.reason})` };
      const base = await mlcube(['base-image']);
      if (base.exitCode !== 0) return { skip: `mlcube base-image failed: ${base.stderr}` };
      // The base image has node and no program named "copy": the task's command cannot be executed.
      return mlcube(['run', `--mlcube=${c}`, '--platform=docker', '-Pdocker.image=mlcube/node-base:20', '-Pdocker.build_strategy=never', '--task=copy']);
    },
    exitCode: 6,
    stderr: /MLCUBE_TASK_NOT_STARTED: task "copy": the container of the task could not start: "copy": No such file or directory in the image mlcube\/node-base:20/,
  },
  '7': {
    // The gates fixture cube, its accuracy gate overridden so that it must fail (the task itself exits 0).
    run: (_c) => {
      const g = copyFixture('gates');
      return mlcube(['run', `--mlcube=${g.dir}`, '--platform=local', '--task=score,publish', '-Ptasks.score.gates.accuracy.min=0.999']).finally(g.cleanup);
    },
    exitCode: 7,
    stderr: /MLCUBE_GATE_FAILED: task "score": release gates failed \(1 of 5\); not run: publish:\n {2}FAILED accuracy: metric accuracy = 0.95, not >= 0.999/,
  },
  '8': {
    // A policy (outside the cube) whose one rule this run breaks: denied before anything is created.
    run: (c) => {
      const policy = join(tmpdir(), `mlcube-exit-8-policy-${process.pid}.yaml`);
      writeFileSync(policy, 'name: no-host-runs\nrules:\n  - {name: no_network, require: \'run.network == "none"\', message: the task must run without a network}\n');
      return local(c, ['--task=copy', `--policy=${policy}`]).finally(() => rmSync(policy, { force: true }));
    },
    exitCode: 8,
    stderr: /MLCUBE_POLICY_DENIED: .*the run policy denies this run \(1 rule failed\):\n {2}no-host-runs \(--policy\): rule no_network: the task must run without a network/,
    unchanged: true,
  },
  '124': { run: (c) => local(c, ['--task=sleep', '--timeout=1s']), exitCode: 124, stderr: /MLCUBE_TASK_TIMED_OUT: task "sleep": the task ran past its timeout of 1 s/ },
  '75': {
    run: async (c) => {
      // A run holding the workspace's `nap/` output; a second one with --no-wait is refused at once.
      const holder = execa('node', [CLI, 'run', `--mlcube=${c}`, '--platform=local', '--task=nap'], { reject: false, env: { MLCUBE_SYSTEM_SETTINGS: '/nonexistent/settings.yaml' } });
      const locks = join(c, 'workspace', '.mlcube', 'locks');
      for (let i = 0; i < 100 && !(existsSync(locks) && readdirSync(locks).some((f) => f.startsWith('run-') && f.endsWith('.json'))); i++) await new Promise((r) => setTimeout(r, 50));
      const r = await local(c, ['--task=nap', '--no-wait']);
      await holder;
      return r;
    },
    exitCode: 75,
    stderr: /MLCUBE_OUTPUTS_BUSY/,
  },
  '130': {
    run: async (c) => {
      const child = execa('node', [CLI, 'run', `--mlcube=${c}`, '--platform=local', '--task=sleep'], { reject: false, env: { MLCUBE_SYSTEM_SETTINGS: '/nonexistent/settings.yaml' } });
      const marker = join(c, 'workspace', 'sleep', 'marker.txt');
      for (let i = 0; i < 100 && !existsSync(marker); i++) await new Promise((r) => setTimeout(r, 100));
      child.kill('SIGINT');
      const r = await child;
      return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
    },
    exitCode: 130,
    stderr: /MLCUBE_INTERRUPTED/,
  },
  '137': {
    run: async (c) => {
      const a = await new DockerRunner().probe();
      if (!a.available) return { skip: `the docker OOM kill needs a Docker daemon: ${a.reason}` };
      const base = await mlcube(['base-image']);
      if (base.exitCode !== 0) return { skip: `no base image could be made: ${base.stderr}` };
      return mlcube(['run', `--mlcube=${c}`, '--platform=docker', `-Pdocker.image=mlcube-test/exit-codes:${process.pid}`, '--task=hog', '--memory=96m']);
    },
    exitCode: 137,
    stderr: /was killed for running out of memory \(limit 96m\)/,
  },
};

describe("exit codes: every code in README's table is produced by a scenario, and no scenario's code is undocumented", () => {
  it('the table and the scenarios name the same codes', () => {
    expect(documentedCodes().sort()).to.deep.equal(Object.keys(WALKS).sort());
  });

  for (const [code, walk] of Object.entries(WALKS)) {
    it(`code ${code}`, async function () {
      const cube = copyFixture('basic');
      try {
        const before = snapshot(cube.dir);
        const r = await walk.run(cube.dir);
        if ('skip' in r) {
          console.warn(`      skip: ${r.skip}`);
          return this.skip();
        }
        expect(r.exitCode, r.stderr).to.equal(walk.exitCode);
        if (walk.stderr) expect(r.stderr).to.match(walk.stderr);
        expect(r.stderr, 'no stack trace for a user error').to.not.match(/\n\s+at .*\.(c?js|ts):\d+/);
        if (walk.unchanged) expect(snapshot(cube.dir)).to.deep.equal(before);
        if (code === '4') expect(existsSync(join(cube.dir, 'workspace', 'out')) || existsSync(join(cube.dir, 'workspace', '.mlcube'))).to.equal(false);
      } finally {
        cube.cleanup();
      }
    });
  }
});
