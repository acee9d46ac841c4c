import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { copyFixture, mlcube } from '../helpers/cli.js';
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
});
