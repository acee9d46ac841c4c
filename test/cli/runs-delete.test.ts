import { expect } from 'chai';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { copyFixture, mlcube, snapshot, tempDir } from '../helpers/cli.js';
import { hex, makeRecord, writeRecord } from '../helpers/records.js';

describe('runs delete (fixture cube basic, local runner, signed runs)', function () {
  this.timeout(120000);
  let cube: { dir: string; cleanup: () => void };
  let keys: { dir: string; cleanup: () => void };
  let env: Record<string, string>;
  let ws: string;
  /** Run id by task: copy and consume (signed; consume's lineage points to copy), fail (failed, unsigned). */
  let id: Record<string, string>;

  const runs = () => join(ws, '.mlcube', 'runs');
  const cli = (args: string[]) => mlcube([...args, `--workspace=${ws}`], { env });
  const listed = async (): Promise<Record<string, string>> => {
    const l = await cli(['runs', 'list', '--json']);
    expect(l.exitCode, l.stderr).to.equal(0);
    return Object.fromEntries(JSON.parse(l.stdout).runs.map((r: any) => [r.run_id, r.status]));
  };
  const producers = () => readFileSync(join(runs(), 'producers.jsonl'), 'utf8');
  const verifies = async (runId: string) => {
    const v = await cli(['provenance', 'verify', runId]);
    expect(v.exitCode, v.stderr).to.equal(0);
  };

  beforeEach(async () => {
    cube = copyFixture('basic');
    keys = tempDir('mlcube-keys-');
    ws = join(cube.dir, 'workspace');
    const g = await mlcube(['keys', 'generate', `--dir=${keys.dir}`]);
    expect(g.exitCode, g.stderr).to.equal(0);
    env = { MLCUBE_SIGNING_KEY: join(keys.dir, 'signing.key') };
    const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=copy,consume'], { env });
    expect(r.exitCode, r.stderr).to.equal(0);
    expect((await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=fail'], { env })).exitCode).to.not.equal(0);
    const l = await cli(['runs', 'list', '--json']);
    id = Object.fromEntries(JSON.parse(l.stdout).runs.map((x: any) => [x.task, x.run_id]));
    expect(Object.keys(id).sort()).to.deep.equal(['consume', 'copy', 'fail']);
  });
  afterEach(() => {
    cube.cleanup();
    keys.cleanup();
  });

  it('deletes a run by a unique suffix of its id; the signed runs left still verify', async () => {
    const d = await cli(['runs', 'delete', id.fail.slice(-6), '--json']);
    expect(d.exitCode, d.stderr).to.equal(0);
    expect(JSON.parse(d.stdout)).to.deep.equal({ workspace: ws, dry_run: false, deleted: [{ run_id: id.fail, task: 'fail', status: 'failed' }], kept: [] });
    expect(existsSync(join(runs(), id.fail))).to.equal(false);
    expect(await listed()).to.deep.equal({ [id.copy]: 'succeeded', [id.consume]: 'succeeded' });
    await verifies(id.copy);
    await verifies(id.consume);
  });

  it('--status=failed,interrupted,killed deletes those (a running record of a dead mlcube is closed as killed first) and keeps the rest', async () => {
    writeRecord(ws, makeRecord('20261123T000001Z-stop-000001', [], { task: 'stop', status: 'interrupted', exit_code: 130 }));
    writeRecord(
      ws,
      makeRecord('20261123T000002Z-dead-000002', [], { task: 'dead', status: 'running', exit_code: null, pid: 2 ** 22 + 4242, host: { ...makeRecord('x1', []).host, hostname: hostname() } }),
    );
    const dry = await cli(['runs', 'delete', '--status=failed,interrupted,killed', '--dry-run', '--json']);
    expect(dry.exitCode, dry.stderr).to.equal(0);
    expect(JSON.parse(dry.stdout).deleted.map((r: any) => r.run_id)).to.have.members([id.fail, '20261123T000001Z-stop-000001', '20261123T000002Z-dead-000002']);
    expect(Object.keys(await listed())).to.have.length(5); // --dry-run deleted nothing
    const d = await cli(['runs', 'delete', '--status=failed,interrupted,killed']);
    expect(d.exitCode, d.stderr).to.equal(0);
    expect(d.stdout).to.match(/^deleted 3 runs from /);
    expect(d.stdout).to.match(/20261123T000002Z-dead-000002 +dead +killed/);
    expect(await listed()).to.deep.equal({ [id.copy]: 'succeeded', [id.consume]: 'succeeded' });
    await verifies(id.consume);
  });

  it("refuses a run a signed run's lineage points to, naming it and --force, deleting nothing; --force deletes it and prunes producers.jsonl", async () => {
    expect(producers()).to.contain(id.copy);
    const before = snapshot(runs());
    const d = await cli(['runs', 'delete', id.copy, id.fail]);
    expect(d.exitCode).to.equal(2);
    expect(d.stderr).to.contain(`not deleting run ${id.copy}: the signed run ${id.consume} consumed its outputs`);
    expect(d.stderr).to.contain('--force');
    expect(d.stderr).to.contain('nothing was deleted');
    expect(snapshot(runs())).to.deep.equal(before);
    // By status, a run that must stay is kept and said so, the others go: a (fake) signed run consumed the failed one.
    const fan = '20261123T000004Z-fan-000004';
    writeRecord(
      ws,
      makeRecord(fan, [], { task: 'fan', signature: { envelope: 'provenance.dsse.json', keyid: hex('k') }, lineage: [{ input: 'cfg', run_id: id.fail, task: 'fail', output: 'x', sha256: hex('x') }] }),
    );
    const s = await cli(['runs', 'delete', '--status=failed', '--json']);
    expect(s.exitCode, s.stderr).to.equal(0);
    expect(JSON.parse(s.stdout)).to.deep.include({ deleted: [] });
    expect(JSON.parse(s.stdout).kept).to.deep.equal([
      {
        run_id: id.fail,
        task: 'fail',
        status: 'failed',
        reason: 'lineage',
        signed_dependents: [fan],
        message: `the signed run ${fan} consumed its outputs (lineage); --force deletes it anyway (their records keep the link, their verification does not need it)`,
      },
    ]);
    const h = await cli(['runs', 'delete', '--status=failed']);
    expect(h.stdout).to.match(new RegExp(`^no run to delete in .*\\nkept 1:\\n  ${id.fail} +fail +failed: the signed run ${fan}`));
    const f = await cli(['runs', 'delete', id.copy, '--force']);
    expect(f.exitCode, f.stderr).to.equal(0);
    expect(await listed()).to.deep.equal({ [fan]: 'succeeded', [id.consume]: 'succeeded', [id.fail]: 'failed' });
    expect(producers()).to.not.contain(id.copy);
    expect(producers()).to.contain(id.consume);
    await verifies(id.consume);
  });

  it('never deletes a running run (its mlcube alive), even with --force', async () => {
    const live = '20261123T000003Z-live-000003';
    writeRecord(ws, makeRecord(live, [], { task: 'live', status: 'running', exit_code: null, pid: process.pid, host: { ...makeRecord('x1', []).host, hostname: hostname() } }));
    const before = snapshot(runs());
    const d = await cli(['runs', 'delete', live, '--force']);
    expect(d.exitCode).to.equal(2);
    expect(d.stderr).to.contain(`not deleting run ${live}: it is running`);
    expect(snapshot(runs())).to.deep.equal(before);
    const s = await cli(['runs', 'delete', '--status=running']);
    expect(s.exitCode).to.equal(2);
    expect(s.stderr).to.contain('"running" is not a status runs delete selects (valid: succeeded, failed, interrupted, killed, timed_out; a running run is never deleted)');
    expect(snapshot(runs())).to.deep.equal(before);
  });

  it('an unknown id among known ones deletes nothing, exit 2 naming the runs directory and how to list the ids', async () => {
    const before = snapshot(runs());
    const d = await cli(['runs', 'delete', id.fail, 'nosuchrun']);
    expect(d.exitCode).to.equal(2);
    expect(d.stderr).to.contain(`no run "nosuchrun" in ${runs()}`);
    expect(d.stderr).to.match(/fix: .*mlcube runs list/);
    expect(d.stderr).to.not.match(/\n\s+at /);
    expect(snapshot(runs())).to.deep.equal(before);
    const none = await cli(['runs', 'delete']);
    expect(none.exitCode).to.equal(2);
    expect(none.stderr).to.contain('runs delete needs run ids or --status');
  });

  it('a run directory left half-deleted by a crash (.deleting-<id>) is no run to any command and is removed by the next one', async () => {
    // What a crash after the rename leaves: the directory under its trash name, its producers still indexed.
    renameSync(join(runs(), id.fail), join(runs(), `.deleting-${id.fail}`));
    const l = await cli(['runs', 'list', '--json']);
    expect(l.exitCode, l.stderr).to.equal(0);
    expect(JSON.parse(l.stdout).runs.map((r: any) => r.run_id)).to.deep.equal([id.copy, id.consume]);
    expect(l.stderr).to.not.contain('hold no valid'); // not counted as a broken run directory either
    expect(existsSync(join(runs(), `.deleting-${id.fail}`))).to.equal(false);
    const v = await cli(['provenance', 'verify', id.fail.slice(-6)]);
    expect(v.exitCode).to.equal(2);
    expect(v.stderr).to.contain(`no run "${id.fail.slice(-6)}"`);
    // runs delete removes such leftovers too (before it renames anything).
    renameSync(join(runs(), id.consume), join(runs(), `.deleting-${id.consume}`));
    const d = await cli(['runs', 'delete', '--status=failed']);
    expect(d.exitCode, d.stderr).to.equal(0);
    expect(existsSync(join(runs(), `.deleting-${id.consume}`))).to.equal(false);
  });
});
