import { expect } from 'chai';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/cli.js';
import { OutputsBusyError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { claimPaths, conflicts, LOCK_STALE_MS, LOCK_UPDATE_MS, locksDir, overlaps, withWorkspaceGuard, type Claim, type ClaimedPath, type ClaimOptions } from '../../src/workspace-lock.js';

const out = (path: string, task = 't', parameter = 'p'): ClaimedPath => ({ path, io: 'output', task, parameter });
const inp = (path: string, task = 't', parameter = 'p'): ClaimedPath => ({ path, io: 'input', task, parameter });
const claim = (writes: ClaimedPath[], reads: ClaimedPath[] = []): Claim => ({
  schema: 'mlcube-claim/v1',
  id: 'x',
  pid: 1,
  host: 'h',
  started_at: '2026-01-01T00:00:00.000Z',
  tasks: ['t'],
  task: null,
  run_id: null,
  writes,
  reads,
});

describe('workspace lock (src/workspace-lock.ts)', () => {
  describe('what conflicts', () => {
    it('paths overlap when equal or one lies inside the other, not when they merely share a prefix', () => {
      expect(overlaps('/w/out', '/w/out')).to.equal(true);
      expect(overlaps('/w/out', '/w/out/a.txt')).to.equal(true);
      expect(overlaps('/w/out/a/b', '/w/out')).to.equal(true);
      expect(overlaps('/w/out', '/w/outer')).to.equal(false);
      expect(overlaps('/w/out/a', '/w/out/b')).to.equal(false);
      expect(overlaps('/', '/w')).to.equal(true);
    });

    it('writes conflict with writes and reads; reads are shared', () => {
      const mine = { writes: [out('/w/out')], reads: [inp('/w/data')] };
      expect(conflicts(mine, claim([out('/w/out/x')]))).to.have.length(1); // write inside my write
      expect(conflicts(mine, claim([], [inp('/w/out')]))).to.have.length(1); // they read what I write
      expect(conflicts(mine, claim([out('/w/data')]))).to.have.length(1); // they write what I read
      expect(conflicts(mine, claim([out('/w/other')], [inp('/w/data')]))).to.have.length(0); // both read data
    });
  });

  describe('claims', () => {
    let ws: { dir: string; cleanup: () => void };
    let logged: string[];
    const opts = (writes: ClaimedPath[], reads: ClaimedPath[] = [], over: Partial<ClaimOptions> = {}): ClaimOptions => ({
      workspace: ws.dir,
      tasks: ['t'],
      writes,
      reads,
      wait: false,
      signal: new AbortController().signal,
      log: createLogger('debug', (s) => logged.push(s)),
      onLost: () => undefined,
      ...over,
    });
    beforeEach(() => {
      ws = tempDir('mlcube-lock-');
      logged = [];
    });
    afterEach(() => ws.cleanup());

    it('a second claim on an overlapping path fails at once with --no-wait (exit 75), a disjoint one is granted; release removes everything', async () => {
      const a = await claimPaths(opts([out(join(ws.dir, 'out'))]));
      a.update({ task: 't', runId: 'RUN-A' });
      const err = await claimPaths(opts([out(join(ws.dir, 'out', 'm.txt'), 'nap', 'marker')])).catch((e) => e);
      expect(err).to.be.instanceOf(OutputsBusyError);
      expect(err.exitCode).to.equal(75);
      expect(err.message).to.contain(`task "nap", parameter "marker": run RUN-A (pid ${process.pid} on `);
      expect(err.message).to.contain(`writes ${join(ws.dir, 'out')} (output p of task t); this run writes ${join(ws.dir, 'out', 'm.txt')} inside it`);
      const b = await claimPaths(opts([out(join(ws.dir, 'other'))], [inp(join(ws.dir, 'in'))]));
      const c = await claimPaths(opts([out(join(ws.dir, 'third'))], [inp(join(ws.dir, 'in'))])); // shared read
      await Promise.all([a.release(), b.release(), c.release(), c.release()]);
      expect(readdirSync(locksDir(ws.dir))).to.deep.equal([]);
    });

    it('a waiting claim says whom it waits for, once, and is granted when the holder releases', async () => {
      const a = await claimPaths(opts([out(join(ws.dir, 'out'))]));
      let granted = false;
      const b = claimPaths(opts([out(join(ws.dir, 'out'))], [], { wait: true })).then((h) => ((granted = true), h));
      await new Promise((r) => setTimeout(r, 700));
      expect(granted).to.equal(false);
      expect(logged.filter((l) => l.includes('waiting for run (starting)'))).to.have.length(1);
      await a.release();
      await (await b).release();
      expect(granted).to.equal(true);
    });

    it('Ctrl-C while waiting rejects with InterruptedError and leaves no claim', async () => {
      const a = await claimPaths(opts([out(join(ws.dir, 'out'))]));
      const ctl = new AbortController();
      const b = claimPaths(opts([out(join(ws.dir, 'out'))], [], { wait: true, signal: ctl.signal })).catch((e) => e);
      setTimeout(() => ctl.abort('SIGINT'), 300);
      expect((await b).code).to.equal('MLCUBE_INTERRUPTED');
      expect(readdirSync(locksDir(ws.dir)).filter((n) => n.startsWith('run-'))).to.have.length(2); // a's claim and lock only
      await a.release();
    });

    it('a dead claim (its lock stale, as a SIGKILLed run leaves it) is removed and the paths granted', async () => {
      const dir = locksDir(ws.dir);
      mkdirSync(dir, { recursive: true });
      const dead = join(dir, 'run-dead-1.json');
      writeFileSync(dead, JSON.stringify({ ...claim([out(join(ws.dir, 'out'))]), id: 'dead-1' }));
      mkdirSync(`${dead}.lock`);
      const old = (Date.now() - LOCK_STALE_MS - 1000) / 1000;
      utimesSync(`${dead}.lock`, old, old);
      // A claim whose lock is gone (signal-exit removed it, the claim stayed) is dead too; an orphan stale lock is removed.
      const lockless = join(dir, 'run-dead-2.json');
      writeFileSync(lockless, JSON.stringify({ ...claim([out(join(ws.dir, 'out'))]), id: 'dead-2' }));
      mkdirSync(join(dir, 'run-dead-3.json.lock'));
      utimesSync(join(dir, 'run-dead-3.json.lock'), old, old);
      const a = await claimPaths(opts([out(join(ws.dir, 'out'))]));
      expect(existsSync(dead) || existsSync(`${dead}.lock`) || existsSync(lockless) || existsSync(join(dir, 'run-dead-3.json.lock'))).to.equal(false);
      expect(logged.join('')).to.contain('removed the claim of a run that is gone');
      await a.release();
    });

    it('a fresh lock of another process is not taken over', async () => {
      const dir = locksDir(ws.dir);
      mkdirSync(dir, { recursive: true });
      const live = join(dir, 'run-live-1.json');
      writeFileSync(live, JSON.stringify({ ...claim([out(join(ws.dir, 'out'))]), id: 'live-1' }));
      mkdirSync(`${live}.lock`);
      expect(await claimPaths(opts([out(join(ws.dir, 'out'))])).catch((e) => e)).to.be.instanceOf(OutputsBusyError);
      expect(existsSync(live)).to.equal(true);
    });

    it('a claim lost while held (another process removed its lock) is reported through onLost', async function () {
      this.timeout(LOCK_UPDATE_MS * 3 + 5000);
      let lost: OutputsBusyError | undefined;
      const a = await claimPaths(opts([out(join(ws.dir, 'out'))], [], { onLost: (e) => (lost = e) }));
      rmSync(`${a.file}.lock`, { recursive: true });
      for (let i = 0; i < 60 && !lost; i++) await new Promise((r) => setTimeout(r, 100));
      expect(lost?.code).to.equal('MLCUBE_OUTPUTS_BUSY');
      expect(lost?.message).to.contain('was lost');
      expect(a.lost).to.equal(lost);
      expect(existsSync(a.file)).to.equal(false);
      await a.release();
    });

    it('the guard runs one holder at a time within a process (it is not re-entrant across processes)', async () => {
      let inside = 0;
      let most = 0;
      await Promise.all(
        [1, 2, 3, 4].map(() =>
          withWorkspaceGuard(ws.dir, async () => {
            most = Math.max(most, ++inside);
            await new Promise((r) => setTimeout(r, 20));
            inside--;
          }),
        ),
      );
      expect(most).to.equal(1);
      expect(readdirSync(locksDir(ws.dir))).to.deep.equal([]);
    });

    it('a claim holds its paths as JSON that names the run (what waiting runs print)', async () => {
      const a = await claimPaths(opts([out(join(ws.dir, 'out'))], [inp(join(ws.dir, 'in'))]));
      a.update({ task: 'train', runId: 'R1' });
      const held = JSON.parse(readFileSync(a.file, 'utf8'));
      expect(held).to.include({ schema: 'mlcube-claim/v1', pid: process.pid, task: 'train', run_id: 'R1' });
      expect(held.writes[0].path).to.equal(join(ws.dir, 'out'));
      await a.release();
    });
  });
});
