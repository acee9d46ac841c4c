import { expect } from 'chai';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { copyFixture, FIXTURES, mlcube, tempDir, type CliResult } from '../helpers/cli.js';

const NODE_DIR = dirname(process.execPath);

/** What one command shows of the workspace it resolved. */
interface Row {
  name: string;
  args: (ids: string[]) => string[];
  check: (r: CliResult, ws: string, ids: string[]) => void;
}

const json = (r: CliResult) => JSON.parse(r.stdout);
const ok = (r: CliResult) => expect(r.exitCode, r.stdout + r.stderr).to.equal(0);
const noSlurmRun = (r: CliResult, ws: string) => {
  expect(r.exitCode).to.equal(2);
  expect(r.stderr).to.contain(`no Slurm run recorded in ${join(ws, '.mlcube', 'slurm', 'last-run.json')}`);
};

const ROWS: Row[] = [
  {
    name: 'runs list',
    args: () => ['runs', 'list', '--json'],
    check: (r, ws) => (ok(r), expect(json(r).workspace).to.equal(ws), expect(json(r).runs.map((x: any) => x.task)).to.deep.equal(['copy', 'consume'])),
  },
  { name: 'runs show', args: () => ['runs', 'show', 'latest'], check: (r, _ws, ids) => (ok(r), expect(json(r).run_id).to.equal(ids[1])) },
  { name: 'runs compare', args: (ids) => ['runs', 'compare', ...ids, '--json'], check: (r, _ws, ids) => (ok(r), expect(json(r).runs).to.deep.equal(ids)) },
  {
    name: 'runs delete',
    args: () => ['runs', 'delete', '--status=succeeded', '--dry-run', '--json'],
    check: (r, ws, ids) => (ok(r), expect(json(r).workspace).to.equal(ws), expect(json(r).deleted.map((x: any) => x.run_id)).to.deep.equal(ids)),
  },
  { name: 'provenance verify', args: (ids) => ['provenance', 'verify', ids[0], '--json'], check: (r, ws, ids) => (ok(r), expect([json(r).run_id, json(r).workspace]).to.deep.equal([ids[0], ws])) },
  { name: 'provenance export', args: () => ['provenance', 'export'], check: (r, _ws, ids) => (ok(r), expect(json(r).nodes.map((n: any) => n.id)).to.include.members(ids.map((i) => `run:${i}`))) },
  { name: 'status', args: () => ['status'], check: (r, ws) => noSlurmRun(r, ws) },
  { name: 'cancel', args: () => ['cancel'], check: (r, ws) => noSlurmRun(r, ws) },
  { name: 'describe', args: () => ['describe'], check: (r, ws) => (ok(r), expect(r.stdout).to.contain(`  workspace = ${ws}\n`)) },
  {
    name: 'show_config',
    args: () => ['show_config', '--platform=local', '--resolve', '--json'],
    check: (r, ws) => (ok(r), expect([json(r).runtime.workspace, json(r).workspace]).to.deep.equal([ws, ws])),
  },
  { name: 'configure', args: () => ['configure', '--platform=singularity'], check: (r, ws) => (ok(r), expect(existsSync(join(ws, '.image', 'mlcubetestbasic001.sif'))).to.equal(true)) },
  { name: 'inspect', args: () => ['inspect', '--platform=singularity', '--force'], check: (r, ws) => (ok(r), expect(json(r).image).to.equal(join(ws, '.image', 'mlcubetestbasic001.sif'))) },
];

describe('one workspace resolution: every command finds the workspace `run` used, from any directory', () => {
  let keys: { dir: string; cleanup: () => void };
  let env: Record<string, string>;
  before(async () => {
    keys = tempDir('mlcube-keys-');
    expect((await mlcube(['keys', 'generate', `--dir=${keys.dir}`])).exitCode).to.equal(0);
    env = { MLCUBE_SIGNING_KEY: join(keys.dir, 'signing.key'), PATH: [join(FIXTURES, 'bin', 'singularity'), NODE_DIR, process.env.PATH].join(':') };
  });
  after(() => keys.cleanup());

  // Each command runs in `cwd` with `where`; the cube is given relative to that directory.
  const variants: { name: string; cwd: (cube: string, other: string) => string; where: (cube: string, other: string) => string[]; ws: (cube: string, other: string) => string }[] = [
    { name: "--mlcube from another directory (the cube's own workspace)", cwd: (_c, o) => o, where: (c, o) => [`--mlcube=${relative(o, c)}`], ws: (c) => join(c, 'workspace') },
    {
      name: '--mlcube and a relative --workspace from another directory',
      cwd: (_c, o) => o,
      where: (c, o) => [`--mlcube=${relative(o, c)}`, '--workspace=custom-ws'],
      ws: (_c, o) => join(o, 'custom-ws'),
    },
    { name: 'no flag, in the cube directory', cwd: (c) => c, where: () => [], ws: (c) => join(c, 'workspace') },
  ];
  for (const v of variants) {
    describe(`given ${v.name}`, () => {
      let cube: { dir: string; cleanup: () => void };
      let other: { dir: string; cleanup: () => void };
      let ids: string[];
      const call = (args: string[]) => mlcube([...args, ...v.where(cube.dir, other.dir)], { cwd: v.cwd(cube.dir, other.dir), env: { ...env, FAKE_RUNTIME_LOG: join(other.dir, 'calls.jsonl') } });
      before(async () => {
        cube = copyFixture('basic');
        other = tempDir('mlcube-elsewhere-');
        const r = await call(['run', '--platform=local', '--task=copy,consume', '--json']);
        ok(r);
        ids = JSON.parse(r.stdout).tasks.map((t: { run_id: string }) => t.run_id);
        expect(existsSync(join(v.ws(cube.dir, other.dir), '.mlcube', 'runs', ids[0]))).to.equal(true);
      });
      after(() => {
        cube.cleanup();
        other.cleanup();
      });
      for (const row of ROWS) {
        it(`${row.name} uses the workspace run used`, async () => row.check(await call(row.args(ids)), v.ws(cube.dir, other.dir), ids));
      }
    });
  }
});

describe('nothing found: the message names the path searched and how the workspace was chosen', () => {
  let cube: { dir: string; cleanup: () => void };
  let elsewhere: { dir: string; cleanup: () => void };
  beforeEach(() => {
    cube = copyFixture('basic');
    elsewhere = tempDir('mlcube-elsewhere-');
  });
  afterEach(() => {
    cube.cleanup();
    elsewhere.cleanup();
  });

  // The cube's workspace exists (it holds the inputs) but no run was recorded there.
  const EMPTY: { name: string; args: string[]; exit: number; out: 'stdout' | 'stderr'; text: (runs: string, slurm: string) => string }[] = [
    { name: 'runs list', args: ['runs', 'list'], exit: 0, out: 'stdout', text: (runs) => `no runs recorded in ${runs} (the workspace of cube ` },
    { name: 'runs show', args: ['runs', 'show', 'latest'], exit: 2, out: 'stderr', text: (runs) => `no run "latest" in ${runs} (the workspace of cube ` },
    { name: 'runs compare', args: ['runs', 'compare', 'abc'], exit: 2, out: 'stderr', text: (runs) => `no run "abc" in ${runs} (the workspace of cube ` },
    { name: 'runs delete', args: ['runs', 'delete', 'abc'], exit: 2, out: 'stderr', text: (runs) => `no run "abc" in ${runs} (the workspace of cube ` },
    { name: 'provenance verify', args: ['provenance', 'verify', 'abc'], exit: 2, out: 'stderr', text: (runs) => `no run "abc" in ${runs} (the workspace of cube ` },
    { name: 'provenance export', args: ['provenance', 'export'], exit: 0, out: 'stderr', text: (runs) => `no runs recorded in ${runs} (the workspace of cube ` },
    { name: 'status', args: ['status'], exit: 2, out: 'stderr', text: (_r, slurm) => `no Slurm run recorded in ${slurm} (the workspace of cube ` },
    { name: 'cancel', args: ['cancel'], exit: 2, out: 'stderr', text: (_r, slurm) => `no Slurm run recorded in ${slurm} (the workspace of cube ` },
  ];
  for (const row of EMPTY) {
    it(`${row.name}: an empty workspace is named with its cube`, async () => {
      const ws = join(cube.dir, 'workspace');
      const r = await mlcube([...row.args, `--mlcube=${relative(elsewhere.dir, cube.dir)}`], { cwd: elsewhere.dir });
      expect(r.exitCode, r.stdout + r.stderr).to.equal(row.exit);
      expect(r[row.out]).to.contain(row.text(join(ws, '.mlcube', 'runs'), join(ws, '.mlcube', 'slurm', 'last-run.json')) + cube.dir);
    });
  }

  for (const args of [
    ['runs', 'list'],
    ['runs', 'show', 'latest'],
    ['runs', 'compare', 'abc'],
    ['runs', 'delete', 'abc'],
    ['provenance', 'verify', 'abc'],
    ['provenance', 'export'],
    ['status'],
    ['cancel'],
  ]) {
    it(`${args.slice(0, 2).join(' ')}: a workspace that does not exist is exit 2 naming it, not an empty answer`, async () => {
      const r = await mlcube([...args, '--workspace=no-such-ws'], { cwd: elsewhere.dir });
      expect(r.exitCode, r.stdout + r.stderr).to.equal(2);
      expect(r.stdout).to.equal('');
      expect(r.stderr).to.contain(`workspace ${join(elsewhere.dir, 'no-such-ws')} does not exist (--workspace=no-such-ws)`);
      expect(existsSync(join(elsewhere.dir, 'no-such-ws'))).to.equal(false);
    });
  }

  it('no cube in the current directory and no --workspace: exit 2 naming the directory, suggesting --mlcube or --workspace', async () => {
    const r = await mlcube(['runs', 'list'], { cwd: elsewhere.dir });
    expect(r.exitCode).to.equal(2);
    expect(r.stderr).to.contain(`no mlcube.yaml in ${elsewhere.dir} (the current directory; no --mlcube given)`);
    expect(r.stderr).to.match(/fix: Pass --mlcube=.*or pass --workspace=<workspace>/);
  });

  it('a workspace given alone needs no cube (a workspace copied away from its cube still lists)', async () => {
    const ws = join(elsewhere.dir, 'ws');
    mkdirSync(ws);
    writeFileSync(join(ws, 'note.txt'), 'x');
    const r = await mlcube(['runs', 'list', '--workspace=ws'], { cwd: elsewhere.dir });
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.contain(`no runs recorded in ${join(ws, '.mlcube', 'runs')} (--workspace=ws)`);
  });
});

describe("provenance verify of a run directory: the workspace is the directory's; one named on the command line must be it", () => {
  it('with no flag from anywhere it verifies; a --mlcube whose workspace is another is exit 2 naming both', async () => {
    const cube = copyFixture('basic');
    const other = copyFixture('basic');
    const keys = tempDir('mlcube-keys-');
    try {
      expect((await mlcube(['keys', 'generate', `--dir=${keys.dir}`])).exitCode).to.equal(0);
      const env = { MLCUBE_SIGNING_KEY: join(keys.dir, 'signing.key') };
      const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=copy', '--json'], { env });
      ok(r);
      const dir = join(cube.dir, 'workspace', '.mlcube', 'runs', JSON.parse(r.stdout).tasks[0].run_id);
      ok(await mlcube(['provenance', 'verify', dir], { cwd: other.dir, env }));
      ok(await mlcube(['provenance', 'verify', dir, `--mlcube=${cube.dir}`], { cwd: other.dir, env }));
      const wrong = await mlcube(['provenance', 'verify', dir, `--mlcube=${other.dir}`], { env });
      expect(wrong.exitCode).to.equal(2);
      expect(wrong.stderr).to.contain(`the run directory ${dir} is in the workspace ${join(cube.dir, 'workspace')}, not in ${join(other.dir, 'workspace')} (the workspace of cube ${other.dir})`);
    } finally {
      cube.cleanup();
      other.cleanup();
      keys.cleanup();
    }
  });
});
