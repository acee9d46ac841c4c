import { expect } from 'chai';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyFixture, mlcube, snapshot } from '../helpers/cli.js';
import { recordsByTask } from '../helpers/graph.js';
import { alive } from '../helpers/processes.js';

/** Task timeouts on the local runner (README "Timeouts"): the basic cube's `sleep` task would run 60 s. */
describe('task timeouts on the local runner', function () {
  this.timeout(60_000);
  let cube: { dir: string; cleanup: () => void };
  beforeEach(() => (cube = copyFixture('basic')));
  afterEach(() => cube.cleanup());
  const run = (args: string[]) => mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', ...args]);

  it('--timeout: the task is stopped within 2 s of it, exit 124, its record timed_out', async () => {
    const started = Date.now();
    const r = await run(['--task=sleep', '--timeout=1.5s']);
    const took = Date.now() - started;
    expect(r.exitCode, r.stderr).to.equal(124);
    expect(r.stderr).to.match(/MLCUBE_TASK_TIMED_OUT: task "sleep": the task ran past its timeout of 1\.5 s and was stopped after 1\.\d s/);
    const rec = recordsByTask(join(cube.dir, 'workspace')).sleep;
    expect(rec).to.include({ status: 'timed_out', exit_code: 124 });
    expect(rec.end - rec.start, 'the record spans the timeout and at most 2 s more').to.be.within(1500, 3500);
    expect(took, 'mlcube itself ends soon after').to.be.below(1500 + 2000 + 1500);
    // The task's process is gone (it wrote its pid when it started).
    const pid = Number(readFileSync(join(cube.dir, 'workspace', 'sleep', 'marker.txt'), 'utf8'));
    expect(alive(pid)).to.equal(false);
  });

  it("the cube's timeout applies, and --timeout replaces it", async () => {
    const f = join(cube.dir, 'mlcube.yaml');
    writeFileSync(f, readFileSync(f, 'utf8').replace('  sleep:\n    parameters:', '  sleep:\n    timeout: 1s\n    parameters:'));
    const r = await run(['--task=sleep']);
    expect(r.exitCode, r.stderr).to.equal(124);
    expect(r.stderr).to.contain('past its timeout of 1 s');
    const copy = await run(['--task=copy', '--timeout=30s']);
    expect(copy.exitCode, copy.stderr).to.equal(0);
  });

  it('a timed-out task cancels what waits for it; the other branches finish', async () => {
    const d = copyFixture('diamond');
    try {
      // b naps 1.2 s: a timeout of 0.5 s stops it.
      const f = join(d.dir, 'mlcube.yaml');
      writeFileSync(f, readFileSync(f, 'utf8').replace('  b:\n    parameters:', '  b:\n    timeout: 0.5\n    parameters:'));
      const r = await mlcube(['run', `--mlcube=${d.dir}`, '--platform=local', '--task=a,b,c,d']);
      expect(r.exitCode, r.stderr).to.equal(124);
      const recs = recordsByTask(join(d.dir, 'workspace'));
      expect(recs.b).to.include({ status: 'timed_out' });
      expect(recs.c).to.include({ status: 'succeeded' });
      expect(recs.d).to.equal(undefined);
      expect(r.stderr).to.match(/task "b" timed out: not starting "d"/);
    } finally {
      d.cleanup();
    }
  });

  for (const [where, args] of [
    ['--timeout=soon', ['--task=copy', '--timeout=soon']],
    ['--timeout=0', ['--task=copy', '--timeout=0']],
  ] as const) {
    it(`${where} is exit 2 and changes nothing`, async () => {
      const before = snapshot(cube.dir);
      const r = await run([...args]);
      expect(r.exitCode).to.equal(2);
      expect(r.stderr).to.match(/--timeout .* is not a duration/);
      expect(snapshot(cube.dir)).to.deep.equal(before);
    });
  }

  it('a bad timeout in the cube file is exit 2 at its line', async () => {
    const f = join(cube.dir, 'mlcube.yaml');
    writeFileSync(f, readFileSync(f, 'utf8').replace('  copy:\n    parameters:', '  copy:\n    timeout: 5 minutes\n    parameters:'));
    const r = await run(['--task=copy']);
    expect(r.exitCode).to.equal(2);
    expect(r.stderr).to.match(/mlcube\.yaml:\d+:\d+, task "copy": timeout "5 minutes" is not a duration/);
    expect(existsSync(join(cube.dir, 'workspace', 'out'))).to.equal(false);
  });
});
