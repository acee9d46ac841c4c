import { expect } from 'chai';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheKey, changedParts, type KeyFacts } from '../../src/cache/key.js';
import { ObjectStore } from '../../src/cache/store.js';
import { DigestMemo, RACY_MS } from '../../src/provenance/digest-memo.js';
import { digestPath, sha256Hex } from '../../src/provenance/digest.js';
import type { RecordedParam } from '../../src/provenance/record.js';
import { readEntry } from '../../src/cache/entries.js';
import { prng } from '../helpers/prng.js';

const param = (name: string, io: 'input' | 'output', sha256: string | null, path = name): RecordedParam => ({
  name,
  io,
  type: 'file',
  path,
  base: 'workspace',
  container_path: null,
  found: sha256 ? 'file' : 'missing',
  digest: sha256 ? { algorithm: 'sha256', sha256, size: 1 } : null,
  kind: 'dataset',
});

const BASE: KeyFacts = {
  task: 'train',
  taskConfig: {
    entrypoint: 'python train.py',
    parameters: { inputs: { data: { type: 'file', default: 'data.csv' } }, outputs: { model: { type: 'directory', default: 'model' } } },
    gates: { acc: { metric: 'acc', min: 0.9 } },
    timeout: '5m',
  },
  runnerConfig: { runner: 'local', command: 'node main.js' },
  runner: 'local',
  gpus: 'none',
  code: 'c'.repeat(64),
  image: null,
  secrets: [{ name: 'TOKEN', sha256: 'e'.repeat(64) }],
  parameters: [param('data', 'input', 'a'.repeat(64), 'data.csv'), param('model', 'output', null, 'model')],
};

const withTask = (f: (t: any) => void): KeyFacts => {
  const t = structuredClone(BASE.taskConfig) as any;
  f(t);
  return { ...BASE, taskConfig: t };
};

describe('task cache key (src/cache/key.ts: pure)', () => {
  const base = cacheKey(BASE);
  const ROWS: { what: string; facts: KeyFacts; changed: string[] }[] = [
    { what: "the cube's code", facts: { ...BASE, code: 'd'.repeat(64) }, changed: ["the cube's code"] },
    { what: 'the image', facts: { ...BASE, image: 'sha256:' + '1'.repeat(64) }, changed: ['the image'] },
    { what: 'the entrypoint', facts: withTask((t) => (t.entrypoint = 'python train.py --fast')), changed: ["the task's configuration"] },
    { what: "an input's path", facts: withTask((t) => (t.parameters.inputs.data.default = 'other.csv')), changed: ["the task's configuration"] },
    { what: "the runner's command", facts: { ...BASE, runnerConfig: { runner: 'local', command: 'node other.js' } }, changed: ["the runner's configuration"] },
    { what: 'the GPUs', facts: { ...BASE, gpus: '1' }, changed: ['the GPUs asked for'] },
    { what: "a secret's value", facts: { ...BASE, secrets: [{ name: 'TOKEN', sha256: 'f'.repeat(64) }] }, changed: ['a secret'] },
    { what: "an input's bytes", facts: { ...BASE, parameters: [param('data', 'input', 'b'.repeat(64), 'data.csv'), BASE.parameters[1]] }, changed: ['input data'] },
    { what: 'an input gone', facts: { ...BASE, parameters: [param('data', 'input', null, 'data.csv'), BASE.parameters[1]] }, changed: ['input data'] },
    { what: 'a new input', facts: { ...BASE, parameters: [...BASE.parameters, param('extra', 'input', 'a'.repeat(64))] }, changed: ['input extra (new)'] },
    { what: 'another task', facts: { ...BASE, task: 'evaluate' }, changed: ["the task's configuration"] },
    // What decides nothing about the outputs leaves the key as it is.
    { what: "an output's path (in a container it changes the mounts)", facts: withTask((t) => (t.parameters.outputs.model.default = 'sweeps/1/model')), changed: ["the task's configuration"] },
    { what: 'a gate threshold', facts: withTask((t) => (t.gates.acc.min = 0.5)), changed: [] },
    { what: 'the timeout', facts: withTask((t) => (t.timeout = '1h')), changed: [] },
    { what: 'depends_on and cache', facts: withTask((t) => Object.assign(t, { depends_on: ['download'], cache: true })), changed: [] },
    { what: "an output's digest (outputs are not inputs)", facts: { ...BASE, parameters: [BASE.parameters[0], param('model', 'output', '9'.repeat(64), 'model')] }, changed: [] },
  ];
  for (const row of ROWS) {
    it(`${row.what}: ${row.changed.length ? `changes ${row.changed.join(', ')}` : 'the same key'}`, () => {
      const k = cacheKey(row.facts);
      expect(changedParts(k, base)).to.deep.equal(row.changed);
      expect(k.key === base.key).to.equal(row.changed.length === 0);
      expect(k.key).to.match(/^[0-9a-f]{64}$/);
    });
  }
  it('is the same for the same facts in another order of secrets', () => {
    const two = [
      { name: 'A', sha256: '1'.repeat(64) },
      { name: 'B', sha256: '2'.repeat(64) },
    ];
    expect(cacheKey({ ...BASE, secrets: two }).key).to.equal(cacheKey({ ...BASE, secrets: [...two].reverse() }).key);
  });
});

describe('digest memo (src/provenance/digest-memo.ts): a digest is reused only while the stat is unchanged', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'mlcube-memo-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const age = (f: string) => {
    const old = new Date(Date.now() - 10 * RACY_MS);
    utimesSync(f, old, old); // mtime back; ctime stays now: still racy
  };

  it('a file changed less than RACY_MS ago is hashed every time (never remembered)', async () => {
    const f = join(dir, 'x');
    writeFileSync(f, 'one');
    const memo = DigestMemo.inMemory();
    await digestPath(f, { memo });
    expect(memo.size).to.equal(0);
  });

  it('same size, the mtime set back by hand: the new bytes are seen (ctime moved)', async function () {
    this.timeout(10_000);
    const f = join(dir, 'x');
    writeFileSync(f, 'one');
    age(f);
    await new Promise((r) => setTimeout(r, RACY_MS + 100));
    const memo = DigestMemo.inMemory();
    expect((await digestPath(f, { memo })).sha256).to.equal(sha256Hex(Buffer.from('one')));
    expect(memo.size).to.equal(1);
    const { mtime } = statSync(f);
    writeFileSync(f, 'two');
    utimesSync(f, mtime, mtime);
    expect((await digestPath(f, { memo })).sha256).to.equal(sha256Hex(Buffer.from('two')));
  });

  it('a saved memo that is not one (wrong schema, bad digests) trusts nothing', () => {
    const file = join(dir, 'memo.json');
    for (const text of ['not json', '{"schema":"other","entries":{"k":"' + 'a'.repeat(64) + '"}}', '{"schema":"mlcube-digest-memo/v1","entries":{"k":"zz"}}']) {
      writeFileSync(file, text);
      expect(DigestMemo.load(file).size, text).to.equal(0);
    }
  });
});

describe('object store (src/cache/store.ts)', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'mlcube-store-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  for (const link of ['copy', 'hardlink'] as const) {
    it(`${link}: an object goes in under its digest and comes back checked; a swapped one is refused and dropped`, async () => {
      const store = new ObjectStore(join(dir, 'store'), link);
      const src = join(dir, 'out.bin');
      writeFileSync(src, 'model bytes');
      const sha = sha256Hex(Buffer.from('model bytes'));
      expect(await store.putFile(src, '0'.repeat(64)), 'bytes not those digested').to.equal(false);
      expect(store.has('0'.repeat(64))).to.equal(false);
      expect(await store.putFile(src, sha)).to.equal(true);
      const dest = join(dir, 'restored', 'out.bin');
      expect(await store.place(sha, dest)).to.equal(true);
      expect(readFileSync(dest, 'utf8')).to.equal('model bytes');
      chmodSync(store.objectPath(sha), 0o644);
      writeFileSync(store.objectPath(sha), 'forged bytes');
      rmSync(dest);
      expect(await store.place(sha, dest)).to.equal(false);
      expect(() => statSync(dest), 'nothing placed').to.throw();
      expect(store.has(sha), 'the damaged object is gone').to.equal(false);
    });
  }
});

describe('cache entries (src/cache/entries.ts): a fuzzed entry file is refused or well-formed, never thrown on', () => {
  it('400 seeded byte mutations of a valid entry', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlcube-entry-'));
    try {
      const valid = JSON.stringify({ schema: 'mlcube-cache-entry/v1', key: 'a'.repeat(64), task: 'train', run_id: '20261201T195749Z-train-8f0fce', created_at: '2026-12-01T19:57:49Z' });
      const file = join(dir, 'e.json');
      writeFileSync(file, valid);
      expect(readEntry(file)).to.deep.equal({ key: 'a'.repeat(64), task: 'train', run_id: '20261201T195749Z-train-8f0fce' });
      const seed = 19;
      const rnd = prng(seed);
      for (let i = 0; i < 400; i++) {
        const bytes = Buffer.from(valid);
        for (let n = 1 + Math.floor(rnd() * 3); n > 0; n--) bytes[Math.floor(rnd() * bytes.length)] = Math.floor(rnd() * 128);
        writeFileSync(file, bytes);
        const e = readEntry(file);
        if (!e) continue;
        // Whatever is accepted is an entry of the right shape: a 64-hex key and a run id that cannot climb out of runs/.
        expect(e.key, `seed ${seed}, mutation ${i}`).to.match(/^[0-9a-f]{64}$/);
        expect(e.run_id, `seed ${seed}, mutation ${i}`).to.match(/^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
