import { expect } from 'chai';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyFixture, mlcube, snapshot } from '../helpers/cli.js';
import { overlap, recordsByTask } from '../helpers/graph.js';

describe('task graph: the diamond fixture cube on the local runner (README "Task graph")', function () {
  this.timeout(120_000);

  for (const order of ['d,c,b,a', 'b,d,a,c']) {
    it(`--task=${order}: a first, d last, b and c side by side (their records overlap in time)`, async () => {
      const cube = copyFixture('diamond');
      try {
        const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', `--task=${order}`, '--jobs=2']);
        expect(r.exitCode, r.stderr).to.equal(0);
        const recs = recordsByTask(join(cube.dir, 'workspace'));
        expect(Object.keys(recs).sort()).to.deep.equal(['a', 'b', 'c', 'd']);
        for (const t of ['b', 'c']) expect(recs[t].start, `${t} starts after a ended`).to.be.at.least(recs.a.end);
        for (const t of ['b', 'c']) expect(recs.d.start, `d starts after ${t} ended`).to.be.at.least(recs[t].end);
        expect(overlap(recs.b, recs.c), `b ${JSON.stringify(recs.b)} and c ${JSON.stringify(recs.c)} overlap`).to.equal(true);
        expect(readFileSync(join(cube.dir, 'workspace', 'd', 'out.txt'), 'utf8')).to.equal('d(b(a()),c(a()))\n');
      } finally {
        cube.cleanup();
      }
    });
  }

  it('--jobs=1 runs one task at a time, in the same order', async () => {
    const cube = copyFixture('diamond');
    try {
      const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=c,b,a', '--jobs=1', '--json']);
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(JSON.parse(r.stdout).tasks.map((t: { task: string }) => t.task)).to.deep.equal(['a', 'b', 'c']);
      const recs = recordsByTask(join(cube.dir, 'workspace'));
      expect(overlap(recs.b, recs.c)).to.equal(false);
    } finally {
      cube.cleanup();
    }
  });

  it('no --task runs every task in graph order, depends_on included', async () => {
    const cube = copyFixture('diamond');
    try {
      const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local']);
      expect(r.exitCode, r.stderr).to.equal(0);
      const recs = recordsByTask(join(cube.dir, 'workspace'));
      expect(Object.keys(recs).sort()).to.deep.equal(['a', 'b', 'c', 'd', 'e']);
      expect(recs.e.start, 'e waits for d (depends_on)').to.be.at.least(recs.d.end);
    } finally {
      cube.cleanup();
    }
  });

  it("a failing b cancels d (and e after it), lets c finish, and the run exits with b's code", async () => {
    const cube = copyFixture('diamond');
    try {
      const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=e,d,c,b,a', 'mode=modes/fail.txt', '--json']);
      expect(r.exitCode, r.stderr).to.equal(3);
      const recs = recordsByTask(join(cube.dir, 'workspace'));
      expect(recs.b).to.include({ status: 'failed', exit_code: 3 });
      expect(recs.c).to.include({ status: 'succeeded', exit_code: 0 });
      expect(recs.d, 'd never started').to.equal(undefined);
      expect(recs.e, 'e never started').to.equal(undefined);
      expect(existsSync(join(cube.dir, 'workspace', 'd', 'out.txt'))).to.equal(false);
      const doc = JSON.parse(r.stdout);
      expect(doc.error).to.include({ code: 'MLCUBE_TASK_FAILED', exit_code: 3, task: 'b' });
      expect(doc.error.message).to.match(/not run: d, e/);
      expect(doc.tasks.map((t: { task: string; exit_code: number }) => `${t.task}:${t.exit_code}`).sort()).to.deep.equal(['a:0', 'b:3', 'c:0']);
      expect(r.stderr).to.match(/task "b" failed with exit code 3: not starting "d", "e"/);
    } finally {
      cube.cleanup();
    }
  });

  it('--dry-run prints the graph and the tasks in order, and changes nothing', async () => {
    const cube = copyFixture('diamond');
    try {
      const before = snapshot(cube.dir);
      const text = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=d,b,c,a', '--dry-run']);
      expect(text.exitCode, text.stderr).to.equal(0);
      expect(text.stdout).to.match(/level 1: a\n[\s\S]*level 2: b, c\n[\s\S]*level 3: d\n/);
      expect(text.stdout).to.match(/d <- b: reads from_b = output out/);
      const json = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--dry-run', '--json', '--jobs=3']);
      expect(json.exitCode, json.stderr).to.equal(0);
      const doc = JSON.parse(json.stdout);
      expect(doc).to.include({ dry_run: true, runner: 'local', jobs: 3 });
      expect(doc.graph.levels).to.deep.equal([['a'], ['b', 'c'], ['d'], ['e']]);
      expect(doc.tasks.map((t: { name: string; waits_for: string[] }) => `${t.name}<${t.waits_for.join('+')}`)).to.deep.equal(['a<', 'b<a', 'c<a', 'd<b+c', 'e<d']);
      expect(doc.tasks.map((t: { timeout_ms: number | null }) => t.timeout_ms)).to.deep.equal([null, null, null, null, null]);
      const timed = JSON.parse((await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=a', '--dry-run', '--json', '--timeout=90s'])).stdout);
      expect(timed.tasks[0].timeout_ms).to.equal(90_000);
      expect(snapshot(cube.dir)).to.deep.equal(before);
    } finally {
      cube.cleanup();
    }
  });

  it('a cycle is a located error (exit 2) and changes nothing', async () => {
    const cube = copyFixture('diamond');
    try {
      const file = join(cube.dir, 'mlcube.yaml');
      writeFileSync(file, readFileSync(file, 'utf8').replace('  a:\n    parameters:\n', '  a:\n    depends_on: [d]\n    parameters:\n'));
      const before = snapshot(cube.dir);
      const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=a,d,b']);
      expect(r.exitCode).to.equal(2);
      expect(r.stderr).to.match(/MLCUBE_CONFIG_INVALID: .*mlcube\.yaml:\d+:\d+/);
      expect(r.stderr).to.match(/the tasks form a cycle/);
      expect(r.stderr).to.not.match(/\n\s+at /);
      expect(snapshot(cube.dir)).to.deep.equal(before);
    } finally {
      cube.cleanup();
    }
  });

  for (const bad of ['0', '-1', 'two', '1.5']) {
    it(`--jobs=${bad} is a usage error (exit 2) that changes nothing`, async () => {
      const cube = copyFixture('diamond');
      try {
        const before = snapshot(cube.dir);
        const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', `--jobs=${bad}`]);
        expect(r.exitCode).to.equal(2);
        expect(r.stderr).to.match(/--jobs=\S+ is not a positive whole number/);
        expect(snapshot(cube.dir)).to.deep.equal(before);
      } finally {
        cube.cleanup();
      }
    });
  }

  it('describe --graph and describe --json show the graph', async () => {
    const cube = copyFixture('diamond');
    try {
      const text = await mlcube(['describe', `--mlcube=${cube.dir}`, '--graph']);
      expect(text.exitCode, text.stderr).to.equal(0);
      expect(text.stdout).to.match(/Task graph \(5 tasks;[\s\S]*level 2: b, c\n[\s\S]*e <- d: depends_on/);
      const plain = await mlcube(['describe', `--mlcube=${cube.dir}`]);
      expect(plain.stdout, 'the Python-compatible text has no graph').to.not.match(/Task graph/);
      const json = JSON.parse((await mlcube(['describe', `--mlcube=${cube.dir}`, '--json'])).stdout);
      expect(json.graph.order).to.deep.equal(['a', 'b', 'c', 'd', 'e']);
      expect(json.graph.edges).to.deep.include({ from: 'd', to: 'e', reasons: [{ kind: 'depends_on' }] });
    } finally {
      cube.cleanup();
    }
  });
});
