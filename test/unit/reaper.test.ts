import { expect } from 'chai';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeRecord, writeRecord } from '../helpers/records.js';
import { liveDir, markLive, reapWorkspace, type ReapActions } from '../../src/provenance/reaper.js';
import { mlcubeGone, readRecord, runsDir, shownStatus, type LivenessProbe } from '../../src/provenance/store.js';
import { parseProcStat } from '../../src/process-group.js';
import { checkSchema } from '../../src/config/schemas.js';
import type { ReapingFacts, RunRecord } from '../../src/provenance/record.js';
import type { Logger } from '../../src/log.js';

const HOST = 'this-host';
const BOOT = 'boot-1';
const DEAD = 4242;
const LIVE = 77;

/** A world where pid LIVE runs (started at tick 500) and every other pid is dead. */
const probe = (over: Partial<LivenessProbe> = {}): LivenessProbe => ({ hostname: HOST, bootId: BOOT, pidAlive: (pid) => pid === LIVE, startTicks: (pid) => (pid === LIVE ? 500 : null), ...over });

const facts = (over: Partial<ReapingFacts> = {}): ReapingFacts => ({
  boot_id: BOOT,
  pid_start: 100,
  metrics_dir: '/nonexistent/mlcube-metrics-abcdef',
  task_pgid: null,
  task_start: null,
  docker_host: null,
  ...over,
});

const running = (id: string, over: Partial<RunRecord> = {}): RunRecord =>
  makeRecord(id, [], { status: 'running', exit_code: null, ended_at: null, duration_ms: null, pid: DEAD, host: { ...makeRecord(id, []).host, hostname: HOST }, reaping: facts(), ...over });

const logger = () => {
  const lines: string[] = [];
  const log: Logger = { debug: () => undefined, info: (m) => lines.push(`info: ${m}`), warn: (m) => lines.push(`warn: ${m}`), error: (m) => lines.push(`error: ${m}`) };
  return { log, lines };
};

/** Actions that record what they were asked; no process or container is touched. */
const fakeActions = (over: Partial<ReapActions> = {}) => {
  const calls: string[] = [];
  const actions: Partial<ReapActions> = {
    probe: probe(),
    removeContainers: async (id, host) => (calls.push(`rm containers ${id} @${host}`), [`mlcube-x-${id.slice(-6)}`]),
    stopGroup: async (pgid) => (calls.push(`stop group ${pgid}`), 'terminated'),
    groupMembers: () => [],
    startTicks: () => null,
    hasRunId: () => false,
    now: () => new Date('2026-01-01T00:00:00.000Z'),
    ...over,
  };
  return { actions, calls };
};

describe('reaper: cleaning up after runs whose mlcube was killed (src/provenance/reaper.ts)', () => {
  let ws: string;
  beforeEach(() => (ws = mkdtempSync(join(tmpdir(), 'mlcube-reaper-'))));
  afterEach(() => rmSync(ws, { recursive: true, force: true }));
  const onDisk = (id: string) => readRecord(join(runsDir(ws), id)).record!;
  const ids = ['20260101T000000Z-a-000001', '20260101T000000Z-b-000002', '20260101T000000Z-c-000003'];

  it('a killed docker run: its containers removed by run-id label on its daemon, the record rewritten as killed (schema-valid), the live marker gone', async () => {
    const r = running(ids[0], { runner: 'docker', reaping: facts({ docker_host: 'unix:///var/run/docker.sock' }) });
    writeRecord(ws, r);
    markLive(ws, r.run_id, { hostname: HOST, pid: DEAD, boot_id: BOOT, pid_start: 100 }, logger().log);
    const { actions, calls } = fakeActions();
    const { log, lines } = logger();
    const reaped = await reapWorkspace(ws, { log, actions });
    expect(calls).to.deep.equal([`rm containers ${ids[0]} @unix:///var/run/docker.sock`]);
    const rec = onDisk(ids[0]);
    expect(rec.status).to.equal('killed');
    expect(rec.reaped).to.deep.equal({
      at: '2026-01-01T00:00:00.000Z',
      by_pid: process.pid,
      actions: [`removed container mlcube-x-000001 (labelled org.mlcommons.mlcube.run-id=${ids[0]})`, 'its metrics directory was already gone'],
    });
    expect(rec.error).to.contain(`mlcube (pid ${DEAD}) was killed while the task ran`);
    expect(reaped.get(ids[0])).to.deep.equal(rec);
    expect(existsSync(join(liveDir(ws), ids[0]))).to.equal(false);
    expect(lines.join('\n')).to.contain(`warn: run ${ids[0]} (task "task-${ids[0]}", docker) was killed with its mlcube (pid ${DEAD})`);
    expect(checkSchema('run-record.schema.json', rec)).to.deep.equal([]);
  });

  it('never touches live runs, runs of another host, or finished ones; finds candidates by marker without `known`', async () => {
    writeRecord(ws, running(ids[0], { pid: LIVE, reaping: facts({ pid_start: 500, task_pgid: 9, task_start: 1 }) }));
    writeRecord(ws, running(ids[1], { host: { ...makeRecord('x', []).host, hostname: 'cluster-node-7' }, reaping: facts({ task_pgid: 9, task_start: 1 }) }));
    writeRecord(ws, makeRecord(ids[2], []));
    for (const id of ids) markLive(ws, id, { hostname: HOST, pid: DEAD, boot_id: BOOT, pid_start: 100 }, logger().log);
    const { actions, calls } = fakeActions({ groupMembers: () => [9], startTicks: () => 1 });
    const reaped = await reapWorkspace(ws, { log: logger().log, actions, known: ids.map(onDisk) });
    expect(calls).to.deep.equal([]);
    expect(reaped.size).to.equal(0);
    expect(ids.map((id) => onDisk(id).status)).to.deep.equal(['running', 'running', 'succeeded']);
    // The finished run's stale marker goes; the others stay (their records still say running).
    expect(existsSync(join(liveDir(ws), ids[2]))).to.equal(false);
    expect(existsSync(join(liveDir(ws), ids[0]))).to.equal(true);
  });

  it('a local run: the task group is stopped only when its leader has the recorded start time; a reused pid is left alone', async () => {
    writeRecord(ws, running(ids[0], { reaping: facts({ task_pgid: 300, task_start: 1234 }) }));
    writeRecord(ws, running(ids[1], { reaping: facts({ task_pgid: 301, task_start: 1234 }) }));
    const { actions, calls } = fakeActions({ groupMembers: (pgid) => [pgid], startTicks: (pid) => (pid === 300 ? 1234 : 9999) });
    await reapWorkspace(ws, { log: logger().log, actions, known: ids.slice(0, 2).map(onDisk) });
    expect(calls).to.deep.equal(['stop group 300']);
    expect(onDisk(ids[0]).reaped!.actions[0]).to.equal('stopped process group 300 (SIGTERM)');
    expect(onDisk(ids[1]).reaped!.actions[0]).to.equal('process group 301 had already ended (pid 301 is now another process)');
  });

  it('a group whose leader is gone is stopped only if every member carries the run id; otherwise left alone with a warning naming it', async () => {
    writeRecord(ws, running(ids[0], { reaping: facts({ task_pgid: 400, task_start: 1 }) }));
    writeRecord(ws, running(ids[1], { reaping: facts({ task_pgid: 401, task_start: 1 }) }));
    const { actions, calls } = fakeActions({ groupMembers: (pgid) => [pgid + 1000, pgid + 2000], startTicks: () => null, hasRunId: (pid, id) => id === ids[0] || pid === 1401 });
    const { log, lines } = logger();
    await reapWorkspace(ws, { log, actions, known: ids.slice(0, 2).map(onDisk) });
    expect(calls).to.deep.equal(['stop group 400']);
    expect(onDisk(ids[1]).reaped!.actions[0]).to.match(/^left process group 401 alone/);
    expect(lines.join('\n')).to.contain('kill -TERM -401');
  });

  it('after a reboot nothing of the run can run: no signal is sent, the record is closed', async () => {
    writeRecord(ws, running(ids[0], { pid: LIVE, reaping: facts({ boot_id: 'boot-0', pid_start: 500, task_pgid: 300, task_start: 1234 }) }));
    const { actions, calls } = fakeActions({ groupMembers: () => [300], startTicks: () => 1234 });
    await reapWorkspace(ws, { log: logger().log, actions, known: [onDisk(ids[0])] });
    expect(calls).to.deep.equal([]);
    expect(onDisk(ids[0]).reaped!.actions[0]).to.equal('process group 300 ended with the previous boot');
  });

  it('removes the metrics directory only when it is a mlcube-metrics-XXXXXX directory of this user (a record is no licence to rm -r)', async () => {
    const good = mkdtempSync(join(tmpdir(), 'mlcube-metrics-'));
    writeFileSync(join(good, 'metrics.jsonl'), '{}\n');
    const precious = join(ws, 'precious');
    mkdirSync(precious);
    const link = join(tmpdir(), `mlcube-metrics-${Math.random().toString(36).slice(2, 8).padEnd(6, 'x')}`);
    symlinkSync(precious, link);
    try {
      writeRecord(ws, running(ids[0], { reaping: facts({ metrics_dir: good }) }));
      writeRecord(ws, running(ids[1], { reaping: facts({ metrics_dir: precious }) }));
      writeRecord(ws, running(ids[2], { reaping: facts({ metrics_dir: link }) }));
      const { log, lines } = logger();
      await reapWorkspace(ws, { log, actions: fakeActions().actions, known: ids.map(onDisk) });
      expect(existsSync(good)).to.equal(false);
      expect(existsSync(precious) && existsSync(link)).to.equal(true);
      expect(lines.filter((l) => l.includes('that is not a mlcube-metrics-XXXXXX directory of this user'))).to.have.length(2);
      expect(ids.map((id) => onDisk(id).status)).to.deep.equal(['killed', 'killed', 'killed']);
    } finally {
      rmSync(good, { recursive: true, force: true });
      rmSync(link, { force: true });
    }
  });

  it('never throws: a daemon it cannot reach leaves the run "running" with a warning (retried later); broken records and markers are skipped', async () => {
    writeRecord(ws, running(ids[0], { runner: 'docker', reaping: facts({ docker_host: 'unix:///nowhere.sock' }) }));
    mkdirSync(join(runsDir(ws), ids[1]), { recursive: true });
    writeFileSync(join(runsDir(ws), ids[1], 'record.json'), '{not json');
    mkdirSync(liveDir(ws), { recursive: true });
    writeFileSync(join(liveDir(ws), ids[1]), 'garbage');
    writeFileSync(join(liveDir(ws), 'not-a-run-id'), '');
    const { log, lines } = logger();
    const { actions } = fakeActions({
      removeContainers: async () => {
        throw new Error('connect ENOENT /nowhere.sock');
      },
    });
    const reaped = await reapWorkspace(ws, { log, actions, known: [onDisk(ids[0])] });
    expect(reaped.size).to.equal(0);
    expect(onDisk(ids[0]).status).to.equal('running');
    expect(lines.join('\n')).to.contain(`could not clean up after run ${ids[0]}`).and.to.contain('connect ENOENT /nowhere.sock').and.to.contain('a later mlcube command retries');
    expect(existsSync(join(liveDir(ws), ids[1])), 'a marker without a valid record is dropped').to.equal(false);
    // Without a workspace at all: nothing, silently.
    expect((await reapWorkspace(join(ws, 'absent'), { log })).size).to.equal(0);
  });

  it('a record rewritten by its own mlcube meanwhile (it finished) is not overwritten', async () => {
    const r = running(ids[0], { reaping: facts({ task_pgid: 300, task_start: 1 }) });
    writeRecord(ws, r);
    const { actions } = fakeActions({
      groupMembers: () => [300],
      startTicks: () => 1,
      // While the group is stopped, the record becomes final (a second reaper was first).
      stopGroup: async () => (writeRecord(ws, { ...r, status: 'killed', reaped: { at: 'x', by_pid: 1, actions: [] } }), 'terminated'),
    });
    const reaped = await reapWorkspace(ws, { log: logger().log, actions, known: [r] });
    expect(reaped.size).to.equal(0);
    expect(JSON.parse(readFileSync(join(runsDir(ws), ids[0], 'record.json'), 'utf8')).reaped.by_pid).to.equal(1);
  });
});

describe('liveness of a running record (store.ts mlcubeGone, shownStatus)', () => {
  const r = running('20260101T000000Z-a-000001');
  const table: [string, Partial<RunRecord>, Partial<LivenessProbe>, boolean][] = [
    ['dead pid', {}, {}, true],
    ['live pid, same start time', { pid: LIVE, reaping: facts({ pid_start: 500 }) }, {}, false],
    ['live pid, another start time (reused)', { pid: LIVE, reaping: facts({ pid_start: 499 }) }, {}, true],
    ['live pid, start time not recorded (older record)', { pid: LIVE, reaping: undefined }, {}, false],
    ['another boot', { pid: LIVE, reaping: facts({ boot_id: 'boot-0', pid_start: 500 }) }, {}, true],
    ['another host: cannot tell', { host: { ...r.host, hostname: 'node-7' } }, {}, false],
  ];
  for (const [what, over, p, gone] of table) {
    it(`${what}: ${gone ? 'gone (shown killed)' : 'alive (shown running)'}`, () => {
      expect(mlcubeGone({ ...r, ...over }, probe(p))).to.equal(gone);
    });
  }
  it('a record written as killed reads killed', () => {
    expect(shownStatus({ ...r, status: 'killed' })).to.equal('killed');
  });
});

describe('/proc/<pid>/stat parsing (src/process-group.ts)', () => {
  it('reads state, process group and start time (field 22) after the last ")", whatever the command name holds', () => {
    const fields = ['S', '1', '4242', '4242', '0', '-1', '4194560', ...Array(12).fill('0'), '987654', '0'];
    expect(parseProcStat(`4243 (a) b) (c) ${fields.join(' ')} 0 0`)).to.deep.equal({ state: 'S', pgrp: 4242, start: 987654 });
    expect(parseProcStat('garbage')).to.equal(undefined);
    const self = parseProcStat(readFileSync('/proc/self/stat', 'latin1'));
    expect(self?.start).to.be.a('number');
  });
});
