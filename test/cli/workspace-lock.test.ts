import { expect } from 'chai';
import { execa } from 'execa';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, copyFixture, mlcube, snapshot, tempDir, type CliResult } from '../helpers/cli.js';
import { loadRuns, runsDir, shownStatus } from '../../src/provenance/store.js';
import { LOCK_STALE_MS, LOCK_UPDATE_MS, locksDir } from '../../src/workspace-lock.js';
import type { RunRecord } from '../../src/provenance/record.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, probe: () => T | undefined, ms = 15_000): Promise<T> {
  for (const until = Date.now() + ms; Date.now() < until; await sleep(50)) {
    const v = probe();
    if (v !== undefined) return v;
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A file's content once it exists and is not empty (a task writes it). */
const contentOf = (file: string) => () => {
  const t = existsSync(file) ? readFileSync(file, 'utf8') : '';
  return t ? t : undefined;
};

/** [start, end] of a run from its record, in ms. */
const span = (r: RunRecord): [number, number] => [Date.parse(r.started_at), Date.parse(r.ended_at!)];
const overlapMs = (a: [number, number], b: [number, number]) => Math.min(a[1], b[1]) - Math.max(a[0], b[0]);

describe('workspace lock: concurrent `mlcube run`s of one workspace (README "Concurrent runs")', function () {
  this.timeout(120_000);
  let keys: { dir: string; cleanup: () => void };
  let env: Record<string, string>;
  let cube: { dir: string; cleanup: () => void };
  let ws: string;
  const run = (args: string[], extra: Record<string, string> = {}): Promise<CliResult> =>
    mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--no-cache', ...args], { env: { ...env, ...extra } });
  /** `mlcube run` as its own node process (signals go to mlcube itself, not to a shell). */
  const start = (args: string[]) =>
    execa('node', [CLI, 'run', `--mlcube=${cube.dir}`, '--platform=local', '--no-cache', ...args], { reject: false, env: { MLCUBE_SYSTEM_SETTINGS: '/nonexistent/settings.yaml', ...env } });
  const locksLeft = () => (existsSync(locksDir(ws)) ? readdirSync(locksDir(ws)) : []);

  before(async () => {
    keys = tempDir('mlcube-lock-keys-');
    const g = await mlcube(['keys', 'generate', '--dir', keys.dir]);
    expect(g.exitCode, g.stderr).to.equal(0);
    env = { MLCUBE_SIGNING_KEY: join(keys.dir, 'signing.key') };
  });
  after(() => keys.cleanup());
  beforeEach(() => {
    cube = copyFixture('basic');
    ws = join(cube.dir, 'workspace');
  });
  afterEach(() => cube.cleanup());

  const ROUNDS = 3;
  it(`${ROUNDS} rounds of 8 concurrent runs with overlapping outputs: each waits its turn (or, with --no-wait, fails at once with 75); outputs intact, every signed record verifies`, async () => {
    // Six wait (copy, some with consume after it), two pass --no-wait: all write out/ and reports/report.txt.
    const argsOf = (i: number) => (i % 4 === 3 ? ['--task=copy', '--no-wait'] : i % 2 ? ['--task=copy,consume'] : ['--task=copy']);
    const t0 = Date.now();
    const results: CliResult[] = [];
    for (let round = 0; round < ROUNDS; round++) results.push(...(await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map((i) => run(argsOf(i))))));
    const wallMs = Date.now() - t0;
    let expectedRecords = 0;
    results.forEach((r, n) => {
      const i = n % 8;
      const args = argsOf(i);
      if (args.includes('--no-wait') && r.exitCode === 75) {
        expect(r.stderr).to.contain('MLCUBE_OUTPUTS_BUSY').and.contain('nothing was changed');
        return;
      }
      expect(r.exitCode, `run ${n} ${args.join(' ')}: ${r.stderr}`).to.equal(0);
      expectedRecords += args[0].split(',').length;
    });
    expect(
      results.some((r) => /waiting for run \S+ \(pid \d+ on [^,]+, tasks copy/.test(r.stderr)),
      'some run said whom it waits for',
    ).to.equal(true);

    const runs = loadRuns(ws);
    expect(runs.map((r) => r.status)).to.deep.equal(runs.map(() => 'succeeded')); // none left running
    expect(runs).to.have.length(expectedRecords);
    // The runs took turns: no two records' spans overlap.
    const spans = runs.map(span).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) expect(spans[i][0], `run ${runs[i].run_id} started before the one before it ended`).to.be.at.least(spans[i - 1][1]);

    // Intact outputs (the last writer's), and every signed record verifies against them.
    for (const f of readdirSync(join(ws, 'input'))) expect(readFileSync(join(ws, 'out', f), 'utf8'), f).to.equal(readFileSync(join(ws, 'input', f), 'utf8'));
    expect(JSON.parse(readFileSync(join(ws, 'reports', 'report.txt'), 'utf8')).task).to.equal('copy');
    for (let i = 0; i < runs.length; i += 4) {
      const checks = await Promise.all(runs.slice(i, i + 4).map((r) => mlcube(['provenance', 'verify', join(runsDir(ws), r.run_id)], { env })));
      checks.forEach((v, k) => expect(v.exitCode, `${runs[i + k].run_id}: ${v.stderr}`).to.equal(0));
    }
    expect(runs.every((r) => r.signature !== null)).to.equal(true);
    // Every run is in the producer index (appended holding the workspace guard), and no lock is left behind.
    const index = readFileSync(join(runsDir(ws), 'producers.jsonl'), 'utf8');
    for (const r of runs) expect(index, r.run_id).to.contain(`"run_id":"${r.run_id}"`);
    expect(locksLeft()).to.deep.equal([]);
    if (process.env.MLCUBE_LOCK_FIGURES) {
      process.stderr.write(
        `stress: ${ROUNDS} x 8 = ${results.length} runs, ${results.filter((r) => r.exitCode === 75).length} --no-wait refused, ${results.filter((r) => r.stderr.includes('waiting for')).length} waited, ${runs.length} records, wall ${wallMs} ms\n`,
      );
    }
  });

  it('runs with disjoint outputs run in parallel; runs with the same output take turns', async () => {
    const [a, b] = await Promise.all([run(['--task=nap', 'marker=nap/a.json']), run(['--task=nap', 'marker=nap/b.json'])]);
    expect([a.exitCode, b.exitCode], a.stderr + b.stderr).to.deep.equal([0, 0]);
    expect(a.stderr + b.stderr).to.not.contain('waiting');
    const [ra, rb] = loadRuns(ws);
    const together = overlapMs(span(ra), span(rb));
    expect(together, 'disjoint runs overlap in time by most of the 1.5 s nap').to.be.above(1000);

    const [c, d] = await Promise.all([run(['--task=nap', 'marker=nap/same.json']), run(['--task=nap', 'marker=nap/same.json'])]);
    expect([c.exitCode, d.exitCode], c.stderr + d.stderr).to.deep.equal([0, 0]);
    expect(c.stderr + d.stderr).to.match(/waiting for run \S+-nap-\S+ .*writes \S+same\.json \(output marker of task nap\); this run writes it too/);
    const [rc, rd] = loadRuns(ws).slice(2);
    expect(overlapMs(span(rc), span(rd)), 'same-output runs do not overlap').to.be.at.most(0);
    if (process.env.MLCUBE_LOCK_FIGURES) process.stderr.write(`disjoint pair overlapped ${together} ms; same-output pair ${overlapMs(span(rc), span(rd))} ms\n`);
  });

  it('a run reading an input waits while another run writes inside it (containment, read/write)', async () => {
    expect((await run(['--task=copy'])).exitCode).to.equal(0);
    const writer = run(['--task=nap', 'marker=out/nap.json']);
    await waitFor('the nap task to start', contentOf(join(ws, 'out', 'nap.json')));
    const reader = await run(['--task=consume']);
    expect(reader.exitCode, reader.stderr).to.equal(0);
    expect(reader.stderr).to.contain(`writes ${join(ws, 'out', 'nap.json')} (output marker of task nap); this run reads ${join(ws, 'out')}, which holds it (input out_dir of task consume)`);
    expect((await writer).exitCode).to.equal(0);
    // consume ran after nap had finished: it saw nap.json, and its record starts after nap's ends.
    expect(readFileSync(join(ws, 'summary.txt'), 'utf8')).to.contain('nap.json');
    const [, nap, consume] = loadRuns(ws);
    expect([nap.task, consume.task]).to.deep.equal(['nap', 'consume']);
    expect(span(consume)[0]).to.be.at.least(span(nap)[1]);
  });

  it('--no-wait fails at once with exit 75 naming the holder and changes nothing; Ctrl-C, while waiting or running, releases everything', async () => {
    const holder = start(['--task=sleep']);
    const marker = join(ws, 'sleep', 'marker.txt');
    await waitFor('the sleep task to start', contentOf(marker));
    const holderRun = loadRuns(ws)[0];
    const outside = (lines: string[]) => lines.filter((l) => !l.startsWith(join('workspace', '.mlcube', 'locks')));
    const before = outside(snapshot(cube.dir));

    const t0 = Date.now();
    const refused = await run(['--task=sleep', '--no-wait']);
    expect(refused.exitCode, refused.stderr).to.equal(75);
    expect(Date.now() - t0, 'fails at once').to.be.below(5000);
    expect(refused.stderr).to.contain('MLCUBE_OUTPUTS_BUSY: task "sleep", parameter "marker": ');
    expect(refused.stderr).to.contain(`run ${holderRun.run_id} (pid ${holder.pid} on `).and.contain(`writes ${marker} (output marker of task sleep)`);
    expect(refused.stderr).to.contain('fix: Run again without --no-wait');
    expect(outside(snapshot(cube.dir))).to.deep.equal(before);

    // Waiting, then Ctrl-C: exit 130, still nothing changed.
    const waiter = start(['--task=sleep']);
    let said = '';
    waiter.stderr!.on('data', (d: Buffer) => (said += d.toString()));
    await waitFor('the waiter to say it waits', () => (said.includes('waiting for') ? true : undefined));
    waiter.kill('SIGINT');
    const w = await waiter;
    expect(w.exitCode, String(w.stderr)).to.equal(130);
    expect(String(w.stderr)).to.contain(`waiting for run ${holderRun.run_id}`).and.contain('interrupted while waiting');
    expect(outside(snapshot(cube.dir))).to.deep.equal(before);

    holder.kill('SIGINT');
    expect((await holder).exitCode).to.equal(130);
    expect(locksLeft()).to.deep.equal([]);
    // A task that fails releases its claim too.
    expect((await run(['--task=fail'])).exitCode).to.equal(7); // input/cfg.yaml says exit_code: 7
    expect(locksLeft()).to.deep.equal([]);
  });

  it(`the claim of a SIGKILLed run is taken over once stale (${LOCK_STALE_MS / 1000} s without a refresh): the next run proceeds`, async () => {
    const holder = start(['--task=sleep']);
    const marker = join(ws, 'sleep', 'marker.txt');
    const taskPid = Number(await waitFor('the sleep task to start', contentOf(marker)));
    holder.kill('SIGKILL');
    await holder;
    process.kill(taskPid, 'SIGKILL'); // the orphaned task would write its marker again later
    expect(locksLeft().length, 'the dead run left its claim').to.be.above(0);

    const t0 = Date.now();
    const next = await run(['--task=nap', 'marker=sleep/marker.txt']);
    const waited = Date.now() - t0;
    expect(next.exitCode, next.stderr).to.equal(0);
    expect(next.stderr).to.contain(`(pid ${holder.pid} on `).and.contain('removed the claim of a run that is gone');
    // It waited for staleness (the last refresh was at most LOCK_UPDATE_MS before the kill), and not much longer.
    expect(waited).to.be.within(LOCK_STALE_MS - LOCK_UPDATE_MS, LOCK_STALE_MS + 6000);
    const [killed, nap] = loadRuns(ws);
    expect([shownStatus(killed), nap.status]).to.deep.equal(['killed', 'succeeded']);
    expect(locksLeft()).to.deep.equal([]);
    if (process.env.MLCUBE_LOCK_FIGURES) process.stderr.write(`stale claim taken over: next run done ${waited} ms after the SIGKILL\n`);
  });
});
