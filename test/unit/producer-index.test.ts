import { expect } from 'chai';
import { appendFileSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/cli.js';
import { appendProducers, findProducers, PRODUCERS_FILE } from '../../src/provenance/producer-index.js';
import type { RunRecord } from '../../src/provenance/record.js';
import type { TreeEntry } from '../../src/provenance/digest.js';
import { runsDir } from '../../src/provenance/store.js';
import { dirParam, fileParam, hex, makeRecord, writeRecord } from '../helpers/records.js';

/** A succeeded record producing one file output and one directory output holding one file (digests: hex of labels). */
function record(id: string, fileSha: string, dirSha: string, innerSha: string, status: RunRecord['status'] = 'succeeded'): RunRecord {
  const entries: TreeEntry[] = [{ path: 'a.txt', type: 'file', sha256: hex(innerSha), size: 1 }];
  const out = dirParam('out_dir', 'output', entries);
  // The directory's digest is its manifest's; the test names it by label, so the index key is looked up by label.
  labels.set(dirSha, out.digest!.sha256);
  return makeRecord(`20261123T00000${id}Z-t-00000${id}`, [fileParam('model', 'output', hex(fileSha)), out], { status, exit_code: status === 'succeeded' ? 0 : 1 });
}
const labels = new Map<string, string>();
/** `f:label` / `d:label` as the index keys them. */
const key = (k: string) => {
  const [t, l] = k.split(':');
  return `${t}:${t === 'd' ? (labels.get(l) ?? hex(l)) : hex(l)}`;
};
const keys = (...k: string[]) => new Set(k.map(key));
const manifestsOf = (r: RunRecord) => new Map(r.parameters.filter((p) => p.type === 'directory').map((p) => [`${p.io}:${p.name}`, (p as any).entriesList as TreeEntry[]]));
async function addRun(ws: string, r: RunRecord): Promise<void> {
  const m = manifestsOf(r);
  writeRecord(ws, r);
  await appendProducers(ws, r, m);
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
    it(`finds the producer of ${c.name}`, async () => {
      await addRun(ws.dir, record('1', 'f1', 'd1', 'i1'));
      const hit = (await findProducers(ws.dir, keys(c.key))).get(key(c.key));
      expect(hit && { run_id: hit.run_id.slice(-1), output: hit.output, ...(hit.file ? { file: hit.file } : {}) }).to.deep.equal(c.expect);
    });
  }

  it('appends one line per produced digest; the most recent producer wins; failed runs produce nothing', async () => {
    for (const r of [record('1', 'same', 'd1', 'i1'), record('2', 'same', 'd2', 'i2'), record('3', 'same', 'd3', 'i3', 'failed')]) {
      await addRun(ws.dir, r);
    }
    const lines = readFileSync(join(runsDir(ws.dir), PRODUCERS_FILE), 'utf8')
      .trim()
      .split('\n');
    expect(lines).to.have.length(6);
    expect((await findProducers(ws.dir, keys('f:same'))).get(key('f:same'))?.run_id.slice(-1)).to.equal('2');
  });

  it('builds a missing index from the records (a workspace from before the index), then keeps appending', async () => {
    writeRecord(ws.dir, record('1', 'f1', 'd1', 'i1'));
    writeRecord(ws.dir, record('2', 'f2', 'd2', 'i2'));
    expect((await findProducers(ws.dir, keys('f:f1', 'd:d2'))).size).to.equal(2);
    expect(
      readFileSync(join(runsDir(ws.dir), PRODUCERS_FILE), 'utf8')
        .trim()
        .split('\n'),
    ).to.have.length(6);
    rmSync(join(runsDir(ws.dir), PRODUCERS_FILE));
    const r3 = record('3', 'f3', 'd3', 'i3');
    await addRun(ws.dir, r3); // no index: rebuilt from all three records, r3 included
    expect([...(await findProducers(ws.dir, keys('f:f1', 'f:f2', 'f:f3'))).values()].map((p) => p.run_id.slice(-1))).to.deep.equal(['1', '2', '3']);
  });

  it('does not link a producer whose record was deleted, and skips a torn line', async () => {
    await addRun(ws.dir, record('1', 'f1', 'd1', 'i1'));
    appendFileSync(join(runsDir(ws.dir), PRODUCERS_FILE), '["f:torn",{"run_id":"1","ta\n');
    expect((await findProducers(ws.dir, new Set(['f:torn']))).size).to.equal(0);
    expect((await findProducers(ws.dir, keys('f:f1'))).size).to.equal(1);
    rmSync(join(runsDir(ws.dir), '20261123T000001Z-t-000001'), { recursive: true });
    expect((await findProducers(ws.dir, keys('f:f1'))).size).to.equal(0);
  });
});
