import { expect } from 'chai';
import { parseStatuses, planDeletion, type DeletableStatus, type RunFacts } from '../../src/provenance/delete-plan.js';
import { matchRunIds } from '../../src/provenance/store.js';

/** A run `id` (also its task) with a status; `signed`; `consumed` the ids its lineage points to. */
const run = (id: string, status: RunFacts['status'], o: { signed?: boolean; consumed?: string[]; gone?: boolean } = {}): RunFacts => ({
  run_id: id,
  task: id,
  status,
  shown: status === 'running' && o.gone ? 'killed' : status,
  signed: o.signed ?? false,
  consumed: o.consumed ?? [],
});

// A chain: a (signed) <- b (signed, consumed a) <- c (signed, consumed b); f failed, consumed a, unsigned; k killed;
// r running (its mlcube alive); g running whose mlcube is gone but which the reaper could not close.
const RUNS: RunFacts[] = [
  run('a', 'succeeded', { signed: true }),
  run('b', 'succeeded', { signed: true, consumed: ['a'] }),
  run('c', 'succeeded', { signed: true, consumed: ['b'] }),
  run('f', 'failed', { consumed: ['a'] }),
  run('i', 'interrupted'),
  run('k', 'killed'),
  run('r', 'running'),
  run('g', 'running', { gone: true }),
  run('u', 'succeeded'),
  run('v', 'succeeded', { consumed: ['u'] }),
];

describe('runs delete: which runs are deleted (pure plan)', () => {
  const cases: Array<{ name: string; select: { ids: string[] } | { statuses: DeletableStatus[] }; force?: boolean; deleted: string[]; kept: Record<string, string> }> = [
    { name: 'a failed run by id', select: { ids: ['f'] }, deleted: ['f'], kept: {} },
    { name: 'by status: failed, interrupted and killed ones', select: { statuses: ['failed', 'interrupted', 'killed'] }, deleted: ['f', 'i', 'k'], kept: { g: 'running:gone' } },
    { name: 'a run only unsigned runs consumed', select: { ids: ['u'] }, deleted: ['u'], kept: {} },
    { name: 'a run a signed run consumed is kept, naming it', select: { ids: ['a'] }, deleted: [], kept: { a: 'lineage:b' } },
    { name: '... unless that signed run goes with it', select: { ids: ['a', 'b', 'c'] }, deleted: ['a', 'b', 'c'], kept: {} },
    { name: '... and a run kept for lineage keeps what it consumed (to a fixed point)', select: { ids: ['a', 'b'] }, deleted: [], kept: { a: 'lineage:b', b: 'lineage:c' } },
    { name: '--force deletes it anyway', select: { ids: ['a'] }, force: true, deleted: ['a'], kept: {} },
    { name: 'by status succeeded: the whole chain goes (nothing outside it depends on it)', select: { statuses: ['succeeded'] }, deleted: ['a', 'b', 'c', 'u', 'v'], kept: {} },
    { name: 'a live running run is never deleted, --force or not', select: { ids: ['r'] }, force: true, deleted: [], kept: { r: 'running:live' } },
    { name: 'a running record whose mlcube is gone, not yet closed, is kept (it is what the cleanup needs)', select: { ids: ['g'] }, deleted: [], kept: { g: 'running:gone' } },
    { name: 'by status killed: the reaped one only', select: { statuses: ['killed'] }, deleted: ['k'], kept: { g: 'running:gone' } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const plan = planDeletion(RUNS, c.select, c.force ?? false);
      expect(plan.deleted.map((d) => d.run_id)).to.deep.equal(c.deleted);
      const kept = Object.fromEntries(plan.kept.map((k) => [k.run_id, k.reason === 'lineage' ? `lineage:${k.dependents.join(',')}` : `running:${k.gone ? 'gone' : 'live'}`]));
      expect(kept).to.deep.equal(c.kept);
    });
  }

  const statusCases: Array<[string, DeletableStatus[], string[]]> = [
    ['failed,interrupted,killed', ['failed', 'interrupted', 'killed'], []],
    [' failed , failed,', ['failed'], []],
    ['failed,running', ['failed'], ['running']],
    ['faild', [], ['faild']],
    ['', [], []],
  ];
  for (const [text, statuses, invalid] of statusCases) {
    it(`--status=${JSON.stringify(text)} -> ${JSON.stringify(statuses)}, invalid ${JSON.stringify(invalid)}`, () => {
      expect(parseStatuses(text)).to.deep.equal({ statuses, invalid });
    });
  }

  const ids = ['20261123T000001Z-copy-aaaaaa', '20261123T000002Z-copy-bbbbbb', '20261123T000003Z-train-caaaaa'];
  const idCases: Array<[string, string[]]> = [
    ['latest', [ids[2]]],
    [ids[1], [ids[1]]],
    ['20261123T000002Z', [ids[1]]],
    ['bbbbbb', [ids[1]]],
    ['20261123T', ids],
    ['aaaaa', [ids[0], ids[2]]],
    ['nope', []],
  ];
  for (const [id, hits] of idCases) {
    it(`the id "${id}" names ${hits.length} run(s), as runs show resolves it`, () => {
      expect(matchRunIds(ids, id)).to.deep.equal(hits);
    });
  }
});
