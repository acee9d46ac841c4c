import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalize } from '../../src/provenance/canonical-json.js';
import { digestPath, manifestLine, sha256File, treeDigest } from '../../src/provenance/digest.js';
import { checkEnvelope, pae, signEnvelope } from '../../src/provenance/dsse.js';
import { finalMetrics, metricValue } from '../../src/provenance/metrics.js';
import { checkSchema } from '../../src/config/schemas.js';
import { lineageGraph, toDot } from '../../src/provenance/lineage.js';
import { shownStatus } from '../../src/provenance/store.js';
import { fileParam, hex, makeRecord } from '../helpers/records.js';

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

describe('provenance: canonical JSON (RFC 8785)', () => {
  it('sorts keys by UTF-16 code units and drops whitespace (RFC 8785 §3.2.3 sorting example)', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    const keys = Object.keys(JSON.parse(canonicalize(input)));
    // Expected order from the RFC: \r, 1, \u0080, \u00f6, \u20ac, \ud83d\ude00, \ufb33.
    expect(canonicalize(input)).to.equal(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
    expect(keys).to.have.length(7);
  });

  it('serialises numbers and strings as RFC 8785 §3.2.2 example', () => {
    // The RFC's own example literal: that it does not survive as a double is the point of the test.
    // eslint-disable-next-line no-loss-of-precision
    const input = { numbers: [333333333.33333329, 1e30, 4.5, 2e-3, 0.000000000000000000000000001], string: '\u20ac$\u000f\nA\'B"\\\\"/', literals: [null, true, false] };
    expect(canonicalize(input)).to.equal('{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}');
  });

  it('rejects what JSON cannot hold: NaN, Infinity, lone surrogates', () => {
    expect(() => canonicalize({ x: NaN })).to.throw(/NaN/);
    expect(() => canonicalize([Infinity])).to.throw(/Infinity/);
    expect(() => canonicalize('\ud800')).to.throw(/surrogate/);
    expect(canonicalize(-0)).to.equal('0');
  });
});

describe('provenance: digests (sha256 files, mlcube-tree-v1 directories)', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'mlcube-digest-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('hashes a file larger than one read chunk exactly as a one-shot sha256', async () => {
    const data = Buffer.alloc(9 * 1024 * 1024 + 17, 7);
    writeFileSync(join(dir, 'big'), data);
    expect(await sha256File(join(dir, 'big'))).to.deep.equal({ sha256: sha(data), size: data.length });
  });

  it('digests a tree from its documented manifest: byte-ordered, empty dirs and symlinks (not followed) included', async () => {
    mkdirSync(join(dir, 't', 'sub'), { recursive: true });
    mkdirSync(join(dir, 't', 'empty'));
    writeFileSync(join(dir, 't', 'b.txt'), 'bee');
    writeFileSync(join(dir, 't', 'B.txt'), 'BEE');
    writeFileSync(join(dir, 't', 'sub', 'x'), '');
    symlinkSync('b.txt', join(dir, 't', 'link'));
    const d = await digestPath(join(dir, 't'));
    const manifest = [`F ${sha('BEE')} 3 "B.txt"\n`, `F ${sha('bee')} 3 "b.txt"\n`, `D - - "empty"\n`, `L ${sha('b.txt')} - "link"\n`, `D - - "sub"\n`, `F ${sha('')} 0 "sub/x"\n`].join('');
    expect(d.entries!.map(manifestLine).join('')).to.equal(manifest);
    expect(d.sha256).to.equal(sha(manifest));
    expect(treeDigest(d.entries!)).to.equal(d.sha256);
    mkdirSync(join(dir, 't', 'empty', 'more'));
    expect((await digestPath(join(dir, 't'))).sha256).to.not.equal(d.sha256);
  });

  it('reports a missing path as missing', async () => {
    expect(await digestPath(join(dir, 'nope'))).to.deep.equal({ type: 'missing' });
  });
});

describe('provenance: DSSE with Ed25519', () => {
  it('uses the DSSE v1 pre-authentication encoding', () => {
    expect(pae('http://example.com/HelloWorld', Buffer.from('hello world')).toString()).to.equal('DSSEv1 29 http://example.com/HelloWorld 11 hello world');
  });

  it('verifies an untouched envelope and rejects a changed payload, signature or key', () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const other = generateKeyPairSync('ed25519');
    const env = signEnvelope(Buffer.from('{"a":1}'), privateKey);
    const pub = (k: typeof privateKey) => k;
    expect(checkEnvelope(env, pub(privateKey))).to.deep.equal([]);
    expect(checkEnvelope({ ...env, payload: Buffer.from('{"a":2}').toString('base64') }, privateKey)[0]).to.match(/does not verify/);
    const sig = Buffer.from(env.signatures[0].sig, 'base64');
    sig[3] ^= 1;
    expect(checkEnvelope({ ...env, signatures: [{ ...env.signatures[0], sig: sig.toString('base64') }] }, privateKey)[0]).to.match(/does not verify/);
    expect(checkEnvelope(env, other.publicKey)[0]).to.match(/trusted public key is/);
  });
});

describe('provenance: metric rows and run records against their schemas', () => {
  it('accepts rows with NaN/Infinity as strings and rejects bad ones', () => {
    const ts = new Date().toISOString();
    expect(checkSchema('metric-row.schema.json', { name: 'loss', value: metricValue(NaN), step: 1, timestamp: ts })).to.deep.equal([]);
    expect(checkSchema('metric-row.schema.json', { name: 'loss', value: metricValue(-Infinity), timestamp: ts })).to.deep.equal([]);
    expect(checkSchema('metric-row.schema.json', { name: 'loss', value: 'nan', timestamp: ts })).to.have.length.greaterThan(0);
    expect(checkSchema('metric-row.schema.json', { name: 'loss', value: 1, timestamp: 'yesterday' })).to.have.length.greaterThan(0);
    expect(checkSchema('metric-row.schema.json', { name: 'loss', value: 1, timestamp: ts, extra: 1 })).to.have.length.greaterThan(0);
  });

  it('takes the final value of a metric at its highest step', () => {
    const ts = new Date().toISOString();
    expect(
      finalMetrics([
        { name: 'acc', value: 0.9, step: 2, timestamp: ts },
        { name: 'acc', value: 0.5, step: 1, timestamp: ts },
        { name: 'loss', value: 'NaN', timestamp: ts },
      ]),
    ).to.deep.equal({ acc: 0.9, loss: 'NaN' });
  });

  it('shows a running record whose process is dead as killed', () => {
    const r = { status: 'running', pid: 1 } as any;
    expect(shownStatus(r, () => false)).to.equal('killed');
    expect(shownStatus(r, () => true)).to.equal('running');
    expect(shownStatus({ ...r, status: 'succeeded' }, () => false)).to.equal('succeeded');
  });

  it('draws lineage as a PROV graph: runs and artifacts (by digest), used / wasGeneratedBy / wasInformedBy, limited by depth', () => {
    const data = fileParam('data', 'output', hex('data'));
    const model = fileParam('model', 'output', hex('model'));
    const rec = (id: string, task: string, params: any[], from: string[]) =>
      makeRecord(id, params, { task, lineage: from.map((f) => ({ run_id: f, input: 'i', output: 'o', task: 't', sha256: hex('x') })) });
    const runs = [
      rec('20261123T000001Z-download-000001', 'download', [data], []),
      rec(
        '20261123T000002Z-train-000002',
        'train',
        [
          { ...data, io: 'input' },
          { ...model, kind: 'model' },
        ],
        ['20261123T000001Z-download-000001'],
      ),
      rec(
        '20261123T000003Z-evaluate-000003',
        'evaluate',
        [
          { ...data, io: 'input' },
          { ...model, io: 'input', kind: 'model' },
        ],
        ['20261123T000001Z-download-000001', '20261123T000002Z-train-000002'],
      ),
    ];
    const g = lineageGraph(runs, ['20261123T000003Z-evaluate-000003']);
    const artifacts = g.nodes.filter((n) => n.node === 'artifact');
    expect(artifacts.map((a: any) => [a.kind, a.paths])).to.deep.equal(
      [
        ['dataset', ['data']],
        ['model', ['model']],
      ].sort((a, b) => (`artifact:sha256:${hex(a[1][0])}` < `artifact:sha256:${hex(b[1][0])}` ? -1 : 1)),
    );
    const rel = (r: string) => g.edges.filter((e) => e.relation === r).length;
    expect([rel('used'), rel('wasGeneratedBy'), rel('wasInformedBy')]).to.deep.equal([3, 2, 3]);
    expect(g.edges).to.deep.include({ from: `artifact:sha256:${hex('model')}`, to: 'run:20261123T000002Z-train-000002', relation: 'wasGeneratedBy', parameter: 'model' });
    expect(
      lineageGraph(runs, ['20261123T000003Z-evaluate-000003'], 0)
        .nodes.filter((n) => n.node === 'run')
        .map((n: any) => n.run_id),
    ).to.deep.equal(['20261123T000003Z-evaluate-000003']);
    const dot = toDot(lineageGraph(runs, []));
    expect(dot).to.contain('"run:20261123T000002Z-train-000002" -> "run:20261123T000001Z-download-000001"');
    expect(dot).to.contain(`"artifact:sha256:${hex('model')}" [shape=ellipse`);
  });
});
