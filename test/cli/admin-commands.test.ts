import { expect } from 'chai';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import * as tar from 'tar';
import { mlcube, tempDir } from '../helpers/cli.js';
import { buildSource, contextStream } from '../../runners/docker-image.js';

describe('create, config and doctor commands', () => {
  it('create scaffolds a cube from the built-in template that runs at once on the local runner, and never overwrites', async () => {
    const t = tempDir();
    try {
      const c = await mlcube(['create', '--name=my-cube', '--json'], { cwd: t.dir });
      expect(c.exitCode, c.stderr).to.equal(0);
      const dir = JSON.parse(c.stdout).dir;
      expect(dir).to.equal(join(t.dir, 'my-cube'));
      expect(parse(readFileSync(join(dir, 'mlcube.yaml'), 'utf8')).name).to.equal('my-cube');
      const r = await mlcube(['run', `--mlcube=${dir}`, '--platform=local', '--task=greet']);
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(readFileSync(join(dir, 'workspace', 'greetings', 'greeting.txt'), 'utf8')).to.equal('Hello, Alice!\n');
      const again = await mlcube(['create', '--name=my-cube'], { cwd: t.dir });
      expect(again.exitCode).to.equal(2);
      expect(again.stderr).to.contain('exists and is not empty');
      const bad = await mlcube(['create', '--name=My Cube'], { cwd: t.dir });
      expect(bad.exitCode).to.equal(2);
      expect(existsSync(join(t.dir, 'My Cube'))).to.equal(false);
    } finally {
      t.cleanup();
    }
  });

  it("a created cube's Docker build context holds its code and not its workspace (.dockerignore)", async () => {
    const t = tempDir();
    try {
      const c = await mlcube(['create', '--name=ctx-cube', '--json'], { cwd: t.dir });
      expect(c.exitCode, c.stderr).to.equal(0);
      const dir = JSON.parse(c.stdout).dir;
      // A workspace with outputs and run records, as after a run.
      await mlcube(['run', `--mlcube=${dir}`, '--platform=local', '--task=greet']);
      expect(existsSync(join(dir, 'workspace', 'greetings', 'greeting.txt'))).to.equal(true);
      const entries: string[] = [];
      const parser = new tar.Parser();
      parser.on('entry', (e: tar.ReadEntry) => {
        entries.push(e.path.replace(/^\.\//, ''));
        e.resume();
      });
      const done = new Promise((res) => parser.on('end', res));
      (await contextStream(buildSource(dir, { buildContext: '.', buildFile: 'Dockerfile' }))).pipe(parser);
      await done;
      expect(entries).to.include.members(['Dockerfile', 'main.mjs', 'mlcube.yaml', '.dockerignore']);
      expect(entries.filter((e) => e.startsWith('workspace'))).to.deep.equal([]);
    } finally {
      t.cleanup();
    }
  });

  it('config creates, copies, renames, reads and removes platforms in the settings file, keeping comments', async () => {
    const t = tempDir();
    try {
      const settings = join(t.dir, 'mlcube.yaml');
      writeFileSync(settings, '# my settings\nplatforms: {}\n');
      const env = { MLCUBE_SYSTEM_SETTINGS: settings };
      expect((await mlcube(['config', '--create-platform', 'docker', 'gpu'], { env })).exitCode).to.equal(0);
      expect((await mlcube(['config', '--copy-platform', 'local', 'host2'], { env })).exitCode).to.equal(0);
      expect((await mlcube(['config', '--rename-platform', 'gpu', 'gpu2'], { env })).exitCode).to.equal(0);
      const get = await mlcube(['config', '--get', 'platforms.gpu2.build_strategy'], { env });
      expect([get.exitCode, get.stdout.trim()]).to.deep.equal([0, 'pull']);
      expect(get.stderr).to.contain(`System settings file path = ${settings}`);
      const file = readFileSync(settings, 'utf8');
      expect(file).to.contain('# my settings');
      expect(Object.keys(parse(file).platforms)).to.deep.equal(['host2', 'gpu2']);
      // A platform made here is usable by run/show_config at once.
      const show = await mlcube(['show_config', '--mlcube=cubes/mnist', '--platform=host2', '--json'], { env });
      expect(JSON.parse(show.stdout).runner.runner).to.equal('local');
      expect((await mlcube(['config', '--remove-platform', 'gpu2'], { env })).exitCode).to.equal(0);
      const missing = await mlcube(['config', '--remove-platform', 'gpu2'], { env });
      expect(missing.exitCode).to.equal(2);
      expect(missing.stderr).to.contain('no platform "gpu2"');
      const dup = await mlcube(['config', '--create-platform', 'nosuchrunner', 'x'], { env });
      expect(dup.exitCode).to.equal(2);
      expect(dup.stderr).to.contain('unknown runner "nosuchrunner"');
    } finally {
      t.cleanup();
    }
  });

  it('doctor reports every runner, with a reason and a fix for each missing one', async () => {
    const d = await mlcube(['doctor', '--json'], { env: { PATH: `${process.env.PATH}`, DOCKER_HOST: 'unix:///tmp/mlcube-no-docker.sock' } });
    expect(d.exitCode, d.stderr).to.equal(0);
    const report = JSON.parse(d.stdout);
    const byName = Object.fromEntries(report.runners.map((r: { runner: string }) => [r.runner, r]));
    expect(Object.keys(byName)).to.include.members(['docker', 'singularity', 'charliecloud', 'local', 'slurm']);
    expect(byName.local.available).to.equal(true);
    expect(byName.docker.available).to.equal(false);
    expect(byName.docker.reason).to.contain('unix:///tmp/mlcube-no-docker.sock');
    expect(byName.docker.remedy).to.match(/Start the daemon/);
  });
});
