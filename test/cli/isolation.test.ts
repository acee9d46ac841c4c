import { expect } from 'chai';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { FIXTURES, copyFixture, mlcube, snapshot, tempDir } from '../helpers/cli.js';

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const BIN = join(FIXTURES, 'bin');
const NODE_DIR = dirname(process.execPath);

/** Where outputs may be written, and what a container is shown: refused at planning, exit 2, nothing on disk. */
describe('isolation: outputs in system or home locations, outside the workspace, and mounts of secrets (CLI)', () => {
  let cube: { dir: string; cleanup: () => void };
  let home: { dir: string; cleanup: () => void };
  const run = (platform: string, args: string[], env: Record<string, string> = {}) => mlcube(['run', `--mlcube=${cube.dir}`, `--platform=${platform}`, ...args], { env: { HOME: home.dir, ...env } });
  beforeEach(() => {
    cube = copyFixture('basic');
    home = tempDir('mlcube-home-');
  });
  afterEach(() => {
    cube.cleanup();
    home.cleanup();
  });

  // A fake singularity (records its argv) and an unreachable Docker daemon: the refusals come before either is used.
  const platforms: [string, Record<string, string>][] = [
    ['local', {}],
    ['docker', { DOCKER_HOST: 'unix:///tmp/mlcube-no-such-docker.sock' }],
    ['singularity', { PATH: `${join(BIN, 'singularity')}:${NODE_DIR}` }],
    ['charliecloud', { PATH: NODE_DIR }],
  ];
  for (const [platform, env] of platforms) {
    it(`report=/etc/passwd is refused on ${platform} before anything is created (exit 2, naming task, parameter, value, resolved path, fix)`, async () => {
      const before = snapshot(cube.dir);
      const passwd = sha('/etc/passwd');
      const r = await run(platform, ['--task=copy', 'report=/etc/passwd'], env);
      expect(r.exitCode, r.stderr).to.equal(2);
      expect(r.stderr).to.contain('MLCUBE_PARAM_INVALID: task "copy", parameter "report": output /etc/passwd resolves to /etc/passwd, which is under /etc, a system directory');
      expect(r.stderr).to.contain('fix: Write it inside the workspace (e.g. report=report/passwd)');
      expect(sha('/etc/passwd')).to.equal(passwd);
      expect(snapshot(cube.dir)).to.deep.equal(before);
    });
  }

  it('out_dir=/ is refused at once (it used to hash the whole filesystem)', async () => {
    const started = Date.now();
    const r = await run('local', ['--task=copy', 'out_dir=/']);
    expect(r.exitCode).to.equal(2);
    expect(r.stderr).to.contain('output / resolves to /, which is the root directory');
    expect(Date.now() - started).to.be.lessThan(10_000);
  });

  const homes: [string, string, RegExp][] = [
    ['~/.ssh/authorized_keys', 'report=~/.ssh/authorized_keys', /which is inside .*\/\.ssh \(your SSH keys\)/],
    ['the home directory itself', 'out_dir=~', /which is your home directory itself/],
    ['~/.mlcube (keys and settings)', 'out_dir=~/.mlcube/keys', /which is inside .*\/\.mlcube \(your mlcube keys and settings\)/],
    ["the workspace's own .mlcube (run records)", 'out_dir=.mlcube/runs', /is inside the workspace's \.mlcube, where mlcube keeps its run records/],
  ];
  for (const [name, arg, re] of homes) {
    it(`an output in ${name} is refused, even named on the command line`, async () => {
      const before = snapshot(cube.dir);
      const r = await run('local', ['--task=copy', arg]);
      expect(r.exitCode, r.stderr).to.equal(2);
      expect(r.stderr).to.match(re);
      expect(snapshot(cube.dir)).to.deep.equal(before);
      expect(snapshot(home.dir)).to.deep.equal([]);
    });
  }

  it("an output outside the workspace from the cube's own default is refused; named on the command line it is written, and said", async () => {
    const out = tempDir('mlcube-outside-');
    try {
      const target = join(out.dir, 'sub', 'marker.txt');
      appendFileSync(join(cube.dir, 'mlcube.yaml'), `  escape:\n    parameters:\n      outputs:\n        marker: {type: file, default: ${target}}\n`);
      const before = snapshot(cube.dir);
      const r = await run('local', ['--task=escape']);
      expect(r.exitCode).to.equal(2);
      expect(r.stderr).to.contain(`task "escape", parameter "marker": output ${target} is ${target}, outside the workspace ${join(cube.dir, 'workspace')}, and comes from the cube file`);
      expect(r.stderr).to.contain(`fix: If that is where you want it, say so on the command line: marker=${target}`);
      expect(existsSync(join(out.dir, 'sub'))).to.equal(false);
      expect(snapshot(cube.dir)).to.deep.equal(before);
      // Named on the command line (a task override, or -P): allowed, and logged at info.
      mkdirSync(join(out.dir, 'ok'));
      const explicit = join(out.dir, 'ok', 'report.txt');
      const ok = await run('local', ['--task=copy', `report=${explicit}`]);
      expect(ok.exitCode, ok.stderr).to.equal(0);
      expect(ok.stderr).to.contain(`mlcube info: task "copy" writes output "report" outside the workspace: ${explicit}`);
      expect(JSON.parse(readFileSync(explicit, 'utf8')).task).to.equal('copy');
      const viaP = await run('local', ['--task=escape', `-Ptasks.escape.parameters.outputs.marker.default=${target}`]);
      expect(viaP.stderr).to.not.contain('comes from the cube file');
      expect(viaP.stderr).to.contain(`writes output "marker" outside the workspace: ${target}`);
    } finally {
      out.cleanup();
    }
  });

  it('a container is never shown the home directory: an input directory that is $HOME is refused before the runtime is used', async () => {
    const log = join(cube.dir, 'calls.jsonl');
    const r = await run('singularity', ['--task=copy', `in_dir=${home.dir}`], { PATH: `${join(BIN, 'singularity')}:${NODE_DIR}`, FAKE_RUNTIME_LOG: log });
    expect(r.exitCode, r.stderr).to.equal(2);
    expect(r.stderr).to.contain(`task "copy", parameter "in_dir": the container would be given directory ${home.dir}, but it is your home directory`);
    const calls = existsSync(log)
      ? readFileSync(log, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l).argv[0])
      : [];
    expect(calls).to.deep.equal([]); // refused by the run's plan: not even probed, never built nor run
    expect(existsSync(join(cube.dir, 'workspace', 'out'))).to.equal(false);
  });
});
