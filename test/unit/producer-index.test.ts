import { expect } from 'chai';
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/cli.js';
import { appendProducers, findProducers, PRODUCERS_FILE } from '../../src/provenance/producer-index.js';
import { RECORD_FILE, type RunRecord } from '../../src/provenance/record.js';
import { runsDir } from '../../src/provenance/store.js';

/** A minimal succeeded record producing one file output and one directory output holding one file. */
function record(id: string, fileSha: string, dirSha: string, innerSha: string, status = 'succeeded'): RunRecord {
  return {
    run_id: id,
    task: `task-${id}`,
    status,
    started_at: `2026-11-23T00:00:0${id}.000Z`,
    parameters: [
      { name: 'model', io: 'output', type: 'file', digest: { type: 'file', sha256: fileSha } },
      { name: 'out_dir', io: 'output', type: 'directory', digest: { type: 'directory', sha256: dirSha, entries: [{ path: 'a.txt', type: 'file', sha256: innerSha }] } },
    ],
  } as unknown as RunRecord;
}

function writeRecord(ws: string, r: RunRecord): void {
  mkdirSync(join(runsDir(ws), r.run_id), { recursive: true });
  writeFileSync(join(runsDir(ws), r.run_id, RECORD_FILE), JSON.stringify(r));
}

describe('producer index (.mlcube/runs/producers.jsonl): lineage without reading every earlier record', () => {
  let ws: { dir: string; cleanup: () => void };
  beforeEach(() => (ws = tempDir('mlcube-producers-')));
  afterEach(() => ws.cleanup());

  const cases: Array<{ name: string; key: string; expect: { run_id: string; output: string; file?: string } | undefined }> = [
    { name: 'a file output', key: 'f:f1', expect: { run_id: '1', output: 'model' } },
    { name: 'a directory output', key: 'd:d1', expect: { run_id: '1', output: 'out_dir' } },
    { name: 'a file inside a directory output', key: 'f:i1', expect: { run_id: '1', output: 'out_dir', file: 'a.txt' } },
    { name: 'a digest nobody produced', key: 'f:nope', expect: undefined },
    { name: 'a directory digest asked as a file', key: 'f:d1', expect: undefined },
  ];
  for (const c of cases) {
    it(`finds the producer of ${c.name}`, () => {
      const r = record('1', 'f1', 'd1', 'i1');
      writeRecord(ws.dir, r);
      appendProducers(ws.dir, r);
      const hit = findProducers(ws.dir, new Set([c.key])).get(c.key);
      expect(hit && { run_id: hit.run_id, output: hit.output, ...(hit.file ? { file: hit.file } : {}) }).to.deep.equal(c.expect);
    });
  }

  it('appends one line per produced digest; the most recent producer wins; failed runs produce nothing', () => {
    for (const r of [record('1', 'same', 'd1', 'i1'), record('2', 'same', 'd2', 'i2'), record('3', 'same', 'd3', 'i3', 'failed')]) {
      writeRecord(ws.dir, r);
      appendProducers(ws.dir, r);
    }
    const lines = readFileSync(join(runsDir(ws.dir), PRODUCERS_FILE), 'utf8').trim().split('\n');
    expect(lines).to.have.length(6);
    expect(findProducers(ws.dir, new Set(['f:same'])).get('f:same')?.run_id).to.equal('2');
  });

  it('builds a missing index from the records (a workspace from before the index), then keeps appending', () => {
    writeRecord(ws.dir, record('1', 'f1', 'd1', 'i1'));
    writeRecord(ws.dir, record('2', 'f2', 'd2', 'i2'));
    expect(findProducers(ws.dir, new Set(['f:f1', 'd:d2'])).size).to.equal(2);
    expect(readFileSync(join(runsDir(ws.dir), PRODUCERS_FILE), 'utf8').trim().split('\n')).to.have.length(6);
    rmSync(join(runsDir(ws.dir), PRODUCERS_FILE));
    const r3 = record('3', 'f3', 'd3', 'i3');
    writeRecord(ws.dir, r3);
    appendProducers(ws.dir, r3); // no index: rebuilt from all three records, r3 included
    expect([...findProducers(ws.dir, new Set(['f:f1', 'f:f2', 'f:f3'])).values()].map((p) => p.run_id)).to.deep.equal(['1', '2', '3']);
  });

  it('does not link a producer whose record was deleted, and skips a torn line', () => {
    const r = record('1', 'f1', 'd1', 'i1');
    writeRecord(ws.dir, r);
    appendProducers(ws.dir, r);
    appendFileSync(join(runsDir(ws.dir), PRODUCERS_FILE), '["f:torn",{"run_id":"1","ta\n');
    expect(findProducers(ws.dir, new Set(['f:torn'])).size).to.equal(0);
    expect(findProducers(ws.dir, new Set(['f:f1'])).size).to.equal(1);
    rmSync(join(runsDir(ws.dir), '1'), { recursive: true });
    expect(findProducers(ws.dir, new Set(['f:f1'])).size).to.equal(0);
  });
});
