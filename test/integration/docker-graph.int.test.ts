import { expect } from 'chai';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { execa } from 'execa';
import { join } from 'node:path';
import { copyFixture, mlcube, readJson } from '../helpers/cli.js';
import { removeTestImage, requireDockerBaseImage } from '../helpers/docker.js';
import { overlap, recordsByTask } from '../helpers/graph.js';

const TAG = `mlcube-test/diamond:${process.pid}`;

/** The diamond fixture cube (test/fixtures/cubes/diamond) in containers on the real daemon: the graph on an attached container runner. */
describe('docker: a task graph runs independent tasks side by side (integration)', function () {
  this.timeout(240_000);
  let cube: { dir: string; cleanup: () => void };
  const run = (args: string[]) => mlcube(['run', `--mlcube=${cube.dir}`, '--platform=docker', `-Pdocker.image=${TAG}`, ...args]);

  before(async function () {
    await requireDockerBaseImage(this, 'docker graph tests need a Docker daemon');
  });
  beforeEach(() => (cube = copyFixture('diamond')));
  afterEach(() => cube.cleanup());
  after(() => removeTestImage(TAG));

  it('--task=d,c,b,a --jobs=2: a first, d last, b and c in two containers at once', async () => {
    const r = await run(['--task=d,c,b,a', '--jobs=2']);
    expect(r.exitCode, r.stderr).to.equal(0);
    const recs = recordsByTask(join(cube.dir, 'workspace'));
    expect(Object.keys(recs).sort()).to.deep.equal(['a', 'b', 'c', 'd']);
    for (const t of ['b', 'c']) expect(recs[t].start).to.be.at.least(recs.a.end);
    for (const t of ['b', 'c']) expect(recs.d.start).to.be.at.least(recs[t].end);
    expect(overlap(recs.b, recs.c), `b ${JSON.stringify(recs.b)} c ${JSON.stringify(recs.c)}`).to.equal(true);
  });

  it("a failing b cancels d, c finishes, and the exit code is b's", async () => {
    const r = await run(['mode=modes/fail.txt', '--task=a,b,c,d']);
    expect(r.exitCode, r.stderr).to.equal(3);
    const recs = recordsByTask(join(cube.dir, 'workspace'));
    expect(recs.c).to.include({ status: 'succeeded' });
    expect(recs.b).to.include({ status: 'failed', exit_code: 3 });
    expect(recs.d).to.equal(undefined);
    expect(existsSync(join(cube.dir, 'workspace', 'd', 'out.txt'))).to.equal(false);
  });

  it('the task cache in containers: keyed on the image digest; a deleted output comes back, a rebuilt image reruns (README "Task cache")', async () => {
    const ws = join(cube.dir, 'workspace');
    const record = (id: string) => readJson(join(ws, '.mlcube', 'runs', id, 'record.json'));
    const first = await run(['--task=a']);
    expect(first.exitCode, first.stderr).to.equal(0);
    const made = recordsByTask(ws).a.run_id;
    expect(record(made).cache.decision).to.equal('miss');
    rmSync(join(ws, 'a', 'out.txt'));
    const again = await run(['--task=a', '--log-level=info']);
    expect(again.exitCode, again.stderr).to.equal(0);
    const hit = record(recordsByTask(ws).a.run_id);
    expect(hit.cache).to.deep.include({ decision: 'hit', of: made, restored: ['a/out.txt'] });
    expect(hit.image.digest).to.equal(record(made).image.digest);
    expect(readFileSync(join(ws, 'a', 'out.txt'), 'utf8')).to.equal('a()\n');
    // The same tag, another image: its digest is in the key, so the task runs again and says why.
    const rebuilt = await execa('docker', ['build', '-q', '--label', `rebuilt=${Date.now()}`, '-t', TAG, cube.dir], { reject: false });
    expect(rebuilt.exitCode, rebuilt.stderr).to.equal(0);
    const after = await run(['--task=a', '--log-level=info']);
    expect(after.exitCode, after.stderr).to.equal(0);
    expect(after.stderr).to.match(/task "a": runs: the image \([0-9a-f]{12} then, [0-9a-f]{12} now\) changed since run /);
    await execa('docker', ['rmi', record(made).image.digest], { reject: false }); // the image before the rebuild, untagged now
  });
});
