import { expect } from 'chai';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { CLI, copyFixture, mlcube, readJson, snapshot, tempDir } from '../helpers/cli.js';

describe('mlcube run on the local runner (fixture cube test/fixtures/cubes/basic)', () => {
  let cube: { dir: string; cleanup: () => void };
  beforeEach(() => (cube = copyFixture('basic')));
  afterEach(() => cube.cleanup());

  it('runs a task with file and directory parameters, creating outputs, with the argv contract', async () => {
    const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=copy']);
    expect(r.exitCode, r.stderr).to.equal(0);
    const ws = join(cube.dir, 'workspace');
    const report = readJson(join(ws, 'reports', 'report.txt'));
    expect(report.args).to.deep.equal([`--in_dir=${ws}/input`, `--cfg=${ws}/input/cfg.yaml`, `--out_dir=${ws}/out`, `--report=${ws}/reports/report.txt`]);
    expect(report.cwd).to.equal(cube.dir);
    expect(report.greeting).to.equal('hello basic');
    expect(readFileSync(join(ws, 'out', 'a.txt'), 'utf8')).to.equal('alpha\n');
    expect(r.stdout).to.equal('');
  });

  it('runs tasks in order: a later task consumes an earlier output that did not exist before the run', async () => {
    const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=copy,consume', '--json']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(readFileSync(join(cube.dir, 'workspace', 'summary.txt'), 'utf8')).to.equal('a.txt,b.txt,cfg.yaml\n');
    const summary = JSON.parse(r.stdout);
    expect(summary.tasks.map((t: any) => [t.task, t.exit_code])).to.deep.equal([
      ['copy', 0],
      ['consume', 0],
    ]);
  });

  it('applies overrides in both forms (name=value and --name=value) and -P, relative to the workspace', async () => {
    const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=copy', 'out_dir=elsewhere/', '--report=r2.txt', '-Plocal.env_args.GREETING=hi']);
    expect(r.exitCode, r.stderr).to.equal(0);
    const ws = join(cube.dir, 'workspace');
    const report = readJson(join(ws, 'r2.txt'));
    expect(report.args).to.include(`--out_dir=${ws}/elsewhere`);
    expect(report.greeting).to.equal('hi');
    expect(existsSync(join(ws, 'elsewhere', 'b.txt'))).to.equal(true);
  });

  it('uses --workspace (relative to the current directory) for every relative path', async () => {
    const ws = tempDir();
    try {
      mkdirSync(join(ws.dir, 'input'));
      writeFileSync(join(ws.dir, 'input', 'cfg.yaml'), 'exit_code: 3\n');
      writeFileSync(join(ws.dir, 'input', 'z.txt'), 'zed\n');
      const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=copy', `--workspace=${join(ws.dir, '..', ws.dir.split('/').pop()!)}`]);
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(readFileSync(join(ws.dir, 'out', 'z.txt'), 'utf8')).to.equal('zed\n');
      expect(existsSync(join(cube.dir, 'workspace', 'out'))).to.equal(false);
    } finally {
      ws.cleanup();
    }
  });

  it('copies missing inputs from the cube workspace into a new --workspace (Python workspace sync), never outputs', async () => {
    const ws = tempDir();
    try {
      const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=copy', `--workspace=${ws.dir}`]);
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(readFileSync(join(ws.dir, 'input', 'cfg.yaml'), 'utf8')).to.equal('exit_code: 7\nrows: 3\n');
      expect(readFileSync(join(ws.dir, 'out', 'a.txt'), 'utf8')).to.equal('alpha\n');
      expect(r.stderr).to.contain(`copying ${join(cube.dir, 'workspace', 'input')} to ${join(ws.dir, 'input')}`);
    } finally {
      ws.cleanup();
    }
  });

  it('returns the exit code of a failing task; a task that does not wait for it still runs (README "Task graph")', async () => {
    const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=fail,copy']);
    expect(r.exitCode).to.equal(7);
    expect(r.stderr).to.contain('failing on purpose with 7');
    expect(r.stderr).to.contain('task "fail": task failed with exit code 7');
    expect(r.stderr).to.not.contain('not run:');
    expect(existsSync(join(cube.dir, 'workspace', 'out', 'a.txt'))).to.equal(true);
  });

  it('a local.command that cannot be started is exit 2 naming the program and the cwd, before anything is created', async () => {
    const before = snapshot(cube.dir);
    const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=copy', '-Plocal.command=mlcube-no-such-program task.mjs']);
    expect(r.exitCode, r.stderr).to.equal(2);
    expect(r.stderr).to.contain('task "copy": cannot start "mlcube-no-such-program": not found on PATH').and.to.contain(cube.dir);
    expect(snapshot(cube.dir)).to.deep.equal(before);
  });

  it('a signing key that cannot be read is exit 2 naming it, before anything is created (no lock, output or record)', async () => {
    const key = join(cube.dir, 'no-such.key');
    const before = snapshot(cube.dir);
    const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=copy'], { env: { MLCUBE_SIGNING_KEY: key } });
    expect(r.exitCode, r.stderr).to.equal(2);
    expect(r.stderr).to.contain(`cannot read the signing key ${key} (ENOENT)`);
    expect(snapshot(cube.dir)).to.deep.equal(before);
  });

  // Each would have failed inside spawn (TypeError, ENAMETOOLONG, E2BIG) after outputs and a record existed.
  const unstartable: Array<[string, { yaml?: [string, string]; args?: string[]; env?: Record<string, string> }, RegExp]> = [
    [
      'a NUL byte in a parameter value (from the cube file)',
      { yaml: ['default: reports/report.txt', 'default: "reports/rep\\0ort.txt"'] },
      /parameter "report": the path "reports\/rep\\u0000ort.txt" holds a NUL byte/,
    ],
    ['a NUL byte in the command (from the cube file)', { yaml: ['command: node task.mjs', 'command: "node task\\0.mjs"'] }, /argument 1 of the task's command line holds a NUL byte/],
    ['a 300-character program name', { args: [`-Plocal.command=${'x'.repeat(300)} task.mjs`] }, /is 300 bytes, longer than a file name may be \(255\)/],
    ['a path name over 255 bytes', { args: [`report=${'r'.repeat(300)}.txt`] }, /path .* cannot be resolved: a name along it is too long/],
    [
      'an argument over 128 KiB (from the cube file)',
      { yaml: ['command: node task.mjs', `command: node task.mjs ${'a'.repeat(140 * 1024)}`] },
      /argument 2 of the task's command line is \d+ bytes; one argument may be at most 131072/,
    ],
    [
      'argv + environment over ARG_MAX',
      {
        yaml: ['command: node task.mjs\n  env_args:\n', `command: node task.mjs\n  env_args:\n${Array.from({ length: 22 }, (_, i) => `    BIG${i}: \${oc.env:BIG}\n`).join('')}`],
        env: { BIG: 'b'.repeat(100 * 1024) },
      },
      /take \d+ bytes; at most \d+ fit \(Linux ARG_MAX\)/,
    ],
    ['a working directory that does not exist', { args: ['-Plocal.workdir=nowhere'] }, /the working directory .*nowhere does not exist/],
  ];
  for (const [what, how, message] of unstartable) {
    it(`${what}: exit 2 naming it, nothing created`, async () => {
      if (how.yaml) {
        const f = join(cube.dir, 'mlcube.yaml');
        writeFileSync(f, readFileSync(f, 'utf8').replace(how.yaml[0], how.yaml[1]));
      }
      const before = snapshot(cube.dir);
      const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=copy', ...(how.args ?? [])], { env: how.env });
      expect(r.exitCode, r.stderr).to.equal(2);
      expect(r.stderr).to.match(message);
      expect(r.stderr).to.not.match(/\n\s+at /);
      expect(snapshot(cube.dir)).to.deep.equal(before);
    });
  }

  it('runs a custom entrypoint with its own tokens and the parameters, without the task name', async () => {
    const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=custom']);
    expect(r.exitCode, r.stderr).to.equal(0);
    const argv = readJson(join(cube.dir, 'workspace', 'custom', 'argv.json'));
    expect(argv).to.deep.equal(['--flag', `--out_dir=${join(cube.dir, 'workspace', 'custom')}`]);
  });

  it('sets CUDA_VISIBLE_DEVICES from --gpus', async () => {
    const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=copy', '--gpus=device=1,3']);
    expect(r.exitCode, r.stderr).to.equal(0);
    const report = readJson(join(cube.dir, 'workspace', 'reports', 'report.txt'));
    expect([report.gpus, report.cuda]).to.deep.equal(['device=1,3', '1,3']);
  });

  it('stops the task on Ctrl-C (SIGINT), exits 130 and leaves no child process behind', async function () {
    const child = execa('node', [CLI, 'run', `--mlcube=${cube.dir}`, '--platform=local', '--task=sleep'], { reject: false, env: { MLCUBE_SYSTEM_SETTINGS: '/nonexistent/settings.yaml' } });
    const marker = join(cube.dir, 'workspace', 'sleep', 'marker.txt');
    for (let i = 0; i < 100 && !existsSync(marker); i++) await new Promise((r) => setTimeout(r, 100));
    const pid = Number(readFileSync(marker, 'utf8'));
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode).to.equal(130);
    expect(String(r.stderr)).to.contain('MLCUBE_INTERRUPTED');
    await new Promise((res) => setTimeout(res, 200));
    expect(() => process.kill(pid, 0), 'task process still alive').to.throw();
    expect(readFileSync(marker, 'utf8')).to.not.equal('finished');
  });

  it('leaves the workspace untouched when an input is missing, naming the producing task', async () => {
    const before = snapshot(cube.dir);
    const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=consume']);
    expect(r.exitCode).to.equal(2);
    expect(r.stderr).to.contain('task "consume", parameter "out_dir": input');
    expect(r.stderr).to.contain('It is an output of task "copy": run it first, e.g. mlcube run --task=copy,consume');
    expect(snapshot(cube.dir)).to.deep.equal(before);
  });
});
