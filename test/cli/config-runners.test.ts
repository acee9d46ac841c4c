import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { mlcube, tempDir } from '../helpers/cli.js';

/** A settings file as the Python MLCube writes it (runners listed with their package), with comments. */
const SETTINGS = `# my settings
runners:
  docker:
    pkg: mlcube_docker # the docker runner
  singularity:
    pkg: mlcube_singularity
  ssh:
    pkg: mlcube_ssh
  podman:
    pkg: mlcube_docker
platforms:
  docker:
    runner: docker
    image: x
  remote:
    runner: ssh
    host: h
  remote2:
    runner: ssh
  pod:
    runner: podman
storage: {}
`;

describe('config --rename-runner / --remove-runner (Python MLCube flags) on a settings file', () => {
  interface Case {
    name: string;
    args: string[];
    /** Expected runners and platform -> runner after the command; absent: an error, and the file unchanged. */
    after?: { runners: string[]; platforms: Record<string, string> };
    stderr: RegExp;
  }
  const cases: Case[] = [
    {
      name: 'renames a runner no platform uses, in place',
      args: ['--rename-runner', 'singularity', 'apptainer'],
      after: { runners: ['docker', 'apptainer', 'ssh', 'podman'], platforms: { docker: 'docker', remote: 'ssh', remote2: 'ssh', pod: 'podman' } },
      stderr: /^System settings file path = /,
    },
    {
      name: 'with --update-platforms, refuses to point platforms at a name that is no built-in runner (underscore spellings too)',
      args: ['--rename_runner', 'podman', 'docker2', '--update_platforms'],
      stderr: /cannot point platform pod at runner "docker2": this runtime finds a platform's runner by its built-in name/,
    },
    {
      name: 'with --update-platforms, to a built-in runner name',
      args: ['--rename-runner', 'podman', 'local', '--update-platforms'],
      after: { runners: ['docker', 'singularity', 'ssh', 'local'], platforms: { docker: 'docker', remote: 'ssh', remote2: 'ssh', pod: 'local' } },
      stderr: /updated platform pod \(runner: local\)/,
    },
    {
      name: 'refuses a rename platforms depend on without --update-platforms',
      args: ['--rename-runner', 'ssh', 'local'],
      stderr: /:16:5: cannot rename runner "ssh": platforms remote, remote2 use it; nothing was changed\n.*fix: Pass --update-platforms/,
    },
    { name: 'refuses a NEW that already exists', args: ['--rename-runner', 'ssh', 'docker'], stderr: /:3:3: runner "docker" already exists/ },
    {
      name: 'refuses an unknown OLD, listing the known ones',
      args: ['--rename-runner', 'nope', 'x'],
      stderr: /:2:1: no runner "nope" in the runners: section of .* \(runners there: docker, singularity, ssh, podman\)/,
    },
    { name: 'refuses the wrong number of names', args: ['--rename-runner', 'ssh'], stderr: /--rename-runner takes OLD NEW/ },
    {
      name: 'removes a runner no platform uses',
      args: ['--remove-runner', 'singularity'],
      after: { runners: ['docker', 'ssh', 'podman'], platforms: { docker: 'docker', remote: 'ssh', remote2: 'ssh', pod: 'podman' } },
      stderr: /^System settings file path = /,
    },
    {
      name: 'refuses to remove a runner platforms use without --remove-platforms',
      args: ['--remove-runner', 'ssh'],
      stderr: /cannot remove runner "ssh": platforms remote, remote2 use it; nothing was changed\n.*fix: Pass --remove-platforms/,
    },
    {
      name: 'with --remove-platforms, removes them with it',
      args: ['--remove_runner', 'ssh', '--remove_platforms'],
      after: { runners: ['docker', 'singularity', 'podman'], platforms: { docker: 'docker', pod: 'podman' } },
      stderr: /removed platforms remote, remote2 \(they used runner ssh\)/,
    },
    {
      name: 'refuses an unknown runner (Python ignores it)',
      args: ['--remove-runner', 'local'],
      stderr: /no runner "local" in the runners: section .*\n.*built-in runners \(docker, .*\) need no entry there/,
    },
    { name: '--remove-platforms alone is refused', args: ['--remove-platforms'], stderr: /--remove-runner/ },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const t = tempDir();
      try {
        const file = join(t.dir, 'mlcube.yaml');
        writeFileSync(file, SETTINGS);
        const r = await mlcube(['config', ...c.args], { env: { MLCUBE_SYSTEM_SETTINGS: file } });
        expect(r.stderr).to.match(c.stderr);
        const text = readFileSync(file, 'utf8');
        if (!c.after) {
          expect(r.exitCode).to.equal(2);
          expect(r.stderr).to.not.match(/\n\s+at /);
          expect(text).to.equal(SETTINGS);
          return;
        }
        expect(r.exitCode, r.stderr).to.equal(0);
        const doc = parse(text);
        expect(Object.keys(doc.runners)).to.deep.equal(c.after.runners);
        expect(Object.fromEntries(Object.entries(doc.platforms).map(([n, p]: [string, any]) => [n, p.runner]))).to.deep.equal(c.after.platforms);
        expect(text).to.contain('# my settings');
        if (c.after.runners.includes('docker')) expect(text).to.contain('# the docker runner');
      } finally {
        t.cleanup();
      }
    });
  }

  it('a platform pointed at a built-in runner by --rename-runner runs with it', async () => {
    const t = tempDir();
    try {
      const file = join(t.dir, 'mlcube.yaml');
      writeFileSync(file, 'runners:\n  host:\n    pkg: mlcube_local\nplatforms:\n  here:\n    runner: host\n');
      const env = { MLCUBE_SYSTEM_SETTINGS: file };
      const before = await mlcube(['show_config', '--mlcube=cubes/mnist', '--platform=here'], { env });
      expect(before.exitCode).to.equal(2);
      expect(before.stderr).to.contain('uses runner "host", which this runtime does not provide');
      expect((await mlcube(['config', '--rename-runner', 'host', 'local', '--update-platforms'], { env })).exitCode).to.equal(0);
      const after = await mlcube(['show_config', '--mlcube=cubes/mnist', '--platform=here', '--json'], { env });
      expect(after.exitCode, after.stderr).to.equal(0);
      expect(JSON.parse(after.stdout).runner.runner).to.equal('local');
    } finally {
      t.cleanup();
    }
  });
});
