import { expect } from 'chai';
import { runGraph } from '../../src/app/run-graph.js';
import type { TaskOutcome } from '../../src/hooks/hook.js';
import { createLogger } from '../../src/log.js';
import type { TaskGraph } from '../../src/plan/graph.js';

/** A graph from parent lists; order: as listed (already topological). */
const G = (parents: Record<string, string[]>): TaskGraph => ({ order: Object.keys(parents), parents, edges: [] });
const DIAMOND = G({ a: [], b: ['a'], c: ['a'], d: ['b', 'c'], e: [] });

const quiet = createLogger('error', () => undefined);
const tick = () => new Promise((r) => setTimeout(r, 5));

/** Runs `graph` with fake tasks: each takes a few ticks and ends with `codes[task]` (default 0), or throws where `throws` says. */
async function simulate(graph: TaskGraph, o: { limit?: number; codes?: Record<string, number>; throws?: string[]; abortAfter?: string } = {}) {
  const events: string[] = [];
  let running = 0;
  let peak = 0;
  const ctl = new AbortController();
  const run = await runGraph(graph, { limit: o.limit ?? 8, signal: ctl.signal, failed: (x) => x.exitCode !== 0, log: quiet }, async (t): Promise<TaskOutcome> => {
    events.push(`start ${t}`);
    peak = Math.max(peak, ++running);
    for (let i = 0; i < 3; i++) await tick();
    running--;
    events.push(`end ${t}`);
    if (o.abortAfter === t) ctl.abort('SIGINT');
    if (o.throws?.includes(t)) throw new Error(`runner broke on ${t}`);
    return { task: t, exitCode: o.codes?.[t] ?? 0, durationMs: 15 };
  });
  return { run, events, peak };
}

describe('running a task graph (src/app/run-graph.ts)', () => {
  it('starts a task only once all its parents ended, and runs independent ones side by side', async () => {
    const { run, events, peak } = await simulate(DIAMOND);
    for (const [child, parent] of [
      ['b', 'a'],
      ['c', 'a'],
      ['d', 'b'],
      ['d', 'c'],
    ])
      expect(events.indexOf(`start ${child}`)).to.be.greaterThan(events.indexOf(`end ${parent}`));
    // a and e have no path between them, nor b and c.
    expect(events.slice(0, 2)).to.deep.equal(['start a', 'start e']);
    expect(events.indexOf('start c')).to.be.lessThan(events.indexOf('end b'));
    expect(peak).to.equal(3);
    expect(run.ended.map((x) => x.task).sort()).to.deep.equal(['a', 'b', 'c', 'd', 'e']);
    expect(run.failure).to.equal(undefined);
    expect(run.notRun).to.deep.equal([]);
  });

  for (const limit of [1, 2]) {
    it(`never runs more than --jobs=${limit} at once`, async () => {
      const { events, peak } = await simulate(DIAMOND, { limit });
      expect(peak).to.equal(limit);
      if (limit === 1) expect(events.filter((e) => e.startsWith('start'))).to.deep.equal(['start a', 'start b', 'start c', 'start d', 'start e']);
    });
  }

  it('a failed task cancels what waits for it and lets the other branches finish; the first failure is reported', async () => {
    const { run, events } = await simulate(DIAMOND, { codes: { b: 3 } });
    expect(events).to.include.members(['end c', 'end e']);
    expect(events).to.not.include('start d');
    expect(run.failure).to.deep.equal({ task: 'b', outcome: { task: 'b', exitCode: 3, durationMs: 15 } });
    expect(run.notRun).to.deep.equal(['d']);
  });

  it("of two failures the first to end is the run's", async () => {
    const { run } = await simulate(G({ slow: ['quick'], quick: [], other: [] }), { codes: { quick: 4, other: 5 }, limit: 1 });
    expect(run.failure && 'outcome' in run.failure && run.failure.outcome.exitCode).to.equal(4);
    expect(run.notRun).to.deep.equal(['slow']);
  });

  it('a task whose run throws starts nothing more, but lets the running ones end', async () => {
    const { run, events } = await simulate(G({ a: [], b: [], c: ['a'], d: [] }), { throws: ['a'], limit: 2 });
    expect(events).to.include('end b');
    expect(events).to.not.include('start c');
    expect(events).to.not.include('start d');
    expect(run.failure && 'error' in run.failure && (run.failure.error as Error).message).to.equal('runner broke on a');
    expect(run.notRun).to.deep.equal(['c', 'd']);
  });

  it('Ctrl-C starts nothing more', async () => {
    const { run, events } = await simulate(DIAMOND, { abortAfter: 'a', limit: 1 });
    expect(events).to.deep.equal(['start a', 'end a']);
    expect(run.failure).to.equal(undefined);
    expect(run.notRun).to.deep.equal(['b', 'c', 'd', 'e']);
  });

  it('tells onCancel which tasks a failure cancelled', async () => {
    const cancelled: string[][] = [];
    const ctl = new AbortController();
    await runGraph(DIAMOND, { limit: 8, signal: ctl.signal, failed: (x) => x.exitCode !== 0, log: quiet, onCancel: (t) => void cancelled.push(t) }, async (t) => ({
      task: t,
      exitCode: t === 'a' ? 1 : 0,
      durationMs: 1,
    }));
    expect(cancelled).to.deep.equal([['b', 'c', 'd']]);
  });
});
