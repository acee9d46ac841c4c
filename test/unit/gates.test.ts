import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors.js';
import { evaluateGates, judge, type Measurement } from '../../src/gates/evaluate.js';
import { jsonMeasure, metricMeasure, reportedMetrics, sizeMeasure, valueAtKey } from '../../src/gates/measure.js';
import { parseGates, type GateParam, type GateSpec } from '../../src/gates/spec.js';
import { formatBytes, parseSize } from '../../src/gates/units.js';

const gate = (op: GateSpec['op'], threshold: number, kind: GateSpec['kind'] = 'metric'): GateSpec => ({ name: 'g', kind, source: 'acc', op, threshold });
const found = (value: unknown): Measurement => ({ found: true, value });

describe('release gates: judging one gate (src/gates/evaluate.ts)', () => {
  const table: [string, GateSpec, Measurement, 'passed' | 'failed', RegExp][] = [
    ['>= above', gate('>=', 0.97), found(0.98), 'passed', /^metric acc = 0.98 >= 0.97$/],
    ['>= at the threshold', gate('>=', 0.97), found(0.97), 'passed', />= 0.97/],
    ['>= below', gate('>=', 0.97), found(0.969), 'failed', /^metric acc = 0.969, not >= 0.97$/],
    ['<= below', gate('<=', 50), found(12.5), 'passed', /<= 50/],
    ['<= at the threshold', gate('<=', 50), found(50), 'passed', /<= 50/],
    ['<= above', gate('<=', 50), found(50.01), 'failed', /not <= 50/],
    ['> above', gate('>', 0.5), found(0.51), 'passed', /> 0.5/],
    ['> at the threshold', gate('>', 0.5), found(0.5), 'failed', /not > 0.5/],
    ['< below', gate('<', 1), found(0.99), 'passed', /< 1/],
    ['< at the threshold', gate('<', 1), found(1), 'failed', /not < 1/],
    ['== equal', gate('==', 3), found(3), 'passed', /= 3 == 3/],
    ['== unequal', gate('==', 3), found(3.0001), 'failed', /not == 3/],
    ['size in bytes, said in units', gate('<=', 10_000_000, 'size'), found(1_234_567), 'passed', /size of acc = 1.235 MB \(1,234,567 bytes\) <= 10 MB \(10,000,000 bytes\)/],
    ['not found fails', gate('>=', 0), { found: false, why: 'the task reported no metric "acc"' }, 'failed', /^the task reported no metric "acc"$/],
    ['NaN fails', gate('<=', 1), found(NaN), 'failed', /is NaN, not a finite number/],
    ['+Infinity fails even for min', gate('>=', 0), found(Infinity), 'failed', /is Infinity, not a finite number/],
    ['-Infinity fails even for max', gate('<=', 0), found(-Infinity), 'failed', /is -Infinity, not a finite number/],
    ['a numeric string fails', gate('>=', 0), found('0.99'), 'failed', /is the string "0.99", not a number/],
    ['a boolean fails', gate('>=', 0), found(true), 'failed', /is the boolean true, not a number/],
    ['null fails', gate('>=', 0), found(null), 'failed', /is null, not a number/],
    ['a list fails', gate('>=', 0), found([1]), 'failed', /is a list, not a number/],
    ['a mapping fails', gate('>=', 0), found({ a: 1 }), 'failed', /is a mapping, not a number/],
  ];
  for (const [what, g, m, outcome, reason] of table) {
    it(what, () => {
      const r = judge(g, m);
      expect(r.outcome).to.equal(outcome);
      expect(r.reason).to.match(reason);
      expect(r).to.include({ name: 'g', kind: g.kind, op: g.op, threshold: g.threshold });
    });
  }

  it('records non-finite values as the JSON-safe strings of metric rows, and no value when there is none or it is no number', () => {
    expect([NaN, Infinity, -Infinity].map((v) => judge(gate('>=', 0), found(v)).value)).to.deep.equal(['NaN', 'Infinity', '-Infinity']);
    expect(judge(gate('>=', 0), found('1')).value).to.equal(null);
    expect(judge(gate('>=', 0), { found: false, why: 'x' }).value).to.equal(null);
  });

  it('the release passes only when every gate passed, and never with no gate', () => {
    const specs = [gate('>=', 0.5), { ...gate('<=', 10), name: 'h' }];
    expect(evaluateGates(specs, () => found(1)).release).to.equal('passed');
    expect(evaluateGates(specs, (g) => found(g.name === 'h' ? 11 : 1))).to.deep.include({ release: 'failed' });
    expect(evaluateGates(specs, (g) => found(g.name === 'h' ? 11 : 1)).results.map((r) => r.outcome)).to.deep.equal(['passed', 'failed']);
    expect(evaluateGates([], () => found(1)).release).to.equal('failed');
  });
});

describe("release gates: reading a task's gates (src/gates/spec.ts)", () => {
  const params: GateParam[] = [
    { name: 'report', io: 'output', type: 'file' },
    { name: 'metrics_dir', io: 'output', type: 'directory' },
    { name: 'model_dir', io: 'input', type: 'directory' },
    { name: 'both', io: 'input', type: 'file' },
    { name: 'both', io: 'output', type: 'directory' },
  ];
  const ok: [string, Record<string, unknown>, Partial<GateSpec>][] = [
    ['a metric, min', { metric: 'accuracy', min: 0.97 }, { kind: 'metric', source: 'accuracy', op: '>=', threshold: 0.97 }],
    ['max', { metric: 'latency', max: 50 }, { op: '<=', threshold: 50 }],
    ['above', { metric: 'f1', above: 0.5 }, { op: '>' }],
    ['below', { metric: 'loss', below: 1 }, { op: '<' }],
    ['equals', { metric: 'n', equals: 3 }, { op: '==' }],
    ['a JSON file parameter', { json: 'report', key: 'scores.f1', min: 0.5 }, { kind: 'json', param: { io: 'output', name: 'report', file: '' }, key: 'scores.f1' }],
    ['a JSON file inside a directory parameter', { json: 'metrics_dir/sub/metrics.json', key: 'a', min: 0 }, { param: { io: 'output', name: 'metrics_dir', file: 'sub/metrics.json' } }],
    ['the size of an input, in MB', { size: 'model_dir', max: '10MB' }, { kind: 'size', param: { io: 'input', name: 'model_dir', file: '' }, threshold: 10_000_000 }],
    ['a size in bytes', { size: 'report', max: 4096 }, { threshold: 4096 }],
    ['an output wins over an input of the same name', { size: 'both', max: 1 }, { param: { io: 'output', name: 'both', file: '' } }],
  ];
  for (const [what, g, expected] of ok) {
    it(what, () => {
      const [spec] = parseGates('evaluate', { g1: g }, params);
      expect(spec).to.deep.include({ name: 'g1', ...expected });
    });
  }

  it('no gates, or gates: null, is none', () => {
    expect(parseGates('t', undefined, params)).to.deep.equal([]);
    expect(parseGates('t', null, params)).to.deep.equal([]);
  });

  const bad: [string, Record<string, unknown>, RegExp, string | undefined][] = [
    ['nothing measured', { min: 1 }, /gate "g1": measures nothing/, undefined],
    ['two sources', { metric: 'a', size: 'report', min: 1 }, /names metric and size: a gate measures one thing/, 'size'],
    ['no operator', { metric: 'a' }, /has no threshold/, undefined],
    ['two operators', { metric: 'a', min: 1, above: 0 }, /has 2 operators \(min, above\)/, 'above'],
    ['key on a metric gate', { metric: 'a', key: 'x', min: 1 }, /key: is for json gates/, 'key'],
    ['json without key', { json: 'report', min: 1 }, /json gates need key:/, 'key'],
    ['a key with an empty segment', { json: 'report', key: 'a..b', min: 1 }, /json gates need key:/, 'key'],
    ['json naming a directory', { json: 'metrics_dir', key: 'a', min: 1 }, /parameter metrics_dir is a directory/, 'json'],
    ['json climbing out of a directory', { json: 'metrics_dir/../x.json', key: 'a', min: 1 }, /must not climb/, 'json'],
    ['json inside a file', { json: 'report/x.json', key: 'a', min: 1 }, /parameter report is a file, it has nothing inside/, 'json'],
    ['size of a path inside a parameter', { size: 'metrics_dir/x', max: 1 }, /a size gate measures a whole parameter/, 'size'],
    ['an unknown parameter', { size: 'nope', max: 1 }, /"nope" names no parameter of the task \(parameters: report, metrics_dir, model_dir, both\)/, 'size'],
    ['a unit on a metric threshold', { metric: 'a', max: '10MB' }, /the threshold "10MB" is not a finite number \(units are for size gates\)/, 'max'],
    ['an unknown unit', { size: 'report', max: '10 mb' }, /the threshold "10 mb" is not a finite number/, 'max'],
    ['a NaN threshold', { metric: 'a', min: NaN }, /the threshold NaN is not a finite number/, 'min'],
  ];
  for (const [what, g, re, key] of bad) {
    it(`error: ${what}, naming the key for the config layer to locate`, () => {
      let err: unknown;
      try {
        parseGates('evaluate', { g1: g }, params);
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(ConfigError);
      expect((err as ConfigError).message).to.match(/^task "evaluate", gate "g1": /);
      expect((err as ConfigError).message).to.match(re);
      expect((err as ConfigError).configPath).to.deep.equal(['tasks', 'evaluate', 'gates', 'g1', ...(key ? [key] : [])]);
      expect((err as ConfigError).suggestions).to.have.length(1);
    });
  }
});

describe('release gates: sizes (src/gates/units.ts)', () => {
  const sizes: [string, number | undefined][] = [
    ['10MB', 10_000_000],
    ['10 MB', 10_000_000],
    ['1.5 GiB', 1.5 * 2 ** 30],
    ['512 B', 512],
    ['2kB', 2000],
    ['2KB', 2000],
    ['1KiB', 1024],
    ['3 TB', 3e12],
    ['0.5 B', 0],
    ['10 mb', undefined],
    ['10', undefined],
    ['MB', undefined],
    ['-1MB', undefined],
    ['1e3 kB', undefined],
  ];
  for (const [text, bytes] of sizes) it(`${JSON.stringify(text)} -> ${bytes}`, () => expect(parseSize(text)).to.equal(bytes));

  it('formats bytes with the exact count', () => {
    expect([0, 999, 1000, 1_234_567, 10_000_000, 2 ** 30].map(formatBytes)).to.deep.equal([
      '0 B',
      '999 B',
      '1 kB (1,000 bytes)',
      '1.235 MB (1,234,567 bytes)',
      '10 MB (10,000,000 bytes)',
      '1.074 GB (1,073,741,824 bytes)',
    ]);
  });
});

describe('release gates: measuring (src/gates/measure.ts)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mlcube-gates-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const doc = { a: { b: [10, { c: 0.5 }], s: 'x' }, n: null };
  const keys: [string, Measurement | RegExp][] = [
    ['a.b.0', found(10)],
    ['a.b.1.c', found(0.5)],
    ['a.s', found('x')],
    ['n', found(null)],
    ['a.b.2', /has no key "a.b.2" \(at a.b: a list of 2\)/],
    ['a.z', /has no key "a.z" \(at a: keys b, s\)/],
    ['a.s.t', /has no key "a.s.t" \(at a.s: a string\)/],
    ['n.x', /has no key "n.x" \(at n: a null\)/],
    ['constructor', /has no key "constructor" \(at the top level: keys a, n\)/],
  ];
  for (const [key, want] of keys) {
    it(`JSON key ${key}`, () => {
      const m = valueAtKey(doc, key, 'f.json');
      if (want instanceof RegExp) expect(m.found ? 'found' : m.why).to.match(want);
      else expect(m).to.deep.equal(want);
    });
  }

  it('JSON files: read whole and parsed; missing, not JSON, a symbolic link or a FIFO fail with why', () => {
    writeFileSync(join(dir, 'ok.json'), '{"acc": 0.9}');
    writeFileSync(join(dir, 'bad.json'), '{acc');
    symlinkSync(join(dir, 'ok.json'), join(dir, 'link.json'));
    execFileSync('mkfifo', [join(dir, 'fifo.json')]);
    expect(jsonMeasure(join(dir, 'ok.json'), 'acc')).to.deep.equal(found(0.9));
    const why = (f: string) => {
      const m = jsonMeasure(join(dir, f), 'acc');
      return m.found ? 'found' : m.why;
    };
    expect(why('none.json')).to.match(/none\.json is missing$/);
    expect(why('bad.json')).to.match(/bad\.json is not JSON/);
    expect(why('link.json')).to.match(/link\.json is a symbolic link$/);
    expect(why('fifo.json')).to.match(/fifo\.json is not a regular file$/);
  });

  it('sizes: a file; a directory sums its regular files, links inside not followed, an excluded subtree left out', () => {
    const d = join(dir, 'tree');
    mkdirSync(join(d, 'sub', '.mlcube'), { recursive: true });
    writeFileSync(join(d, 'a'), Buffer.alloc(300));
    writeFileSync(join(d, 'sub', 'b'), Buffer.alloc(200));
    writeFileSync(join(d, 'sub', '.mlcube', 'r'), Buffer.alloc(5000));
    symlinkSync(join(d, 'a'), join(d, 'link-to-a'));
    expect(sizeMeasure(join(d, 'a'))).to.deep.equal(found(300));
    expect(sizeMeasure(d)).to.deep.equal(found(5500));
    expect(sizeMeasure(d, (rel) => rel === 'sub/.mlcube')).to.deep.equal(found(500));
    expect(sizeMeasure(join(d, 'link-to-a')), 'the parameter itself is followed').to.deep.equal(found(300));
    const missing = sizeMeasure(join(dir, 'nothing'));
    expect(missing.found ? 'found' : missing.why).to.match(/nothing is missing$/);
    const fifo = sizeMeasure(join(dir, 'fifo.json'));
    expect(fifo.found ? 'found' : fifo.why).to.match(/is neither a file nor a directory$/);
  });

  it('metrics: the final value is the highest step, not the last row; NaN rows are NaN; an unreported metric lists what was reported', () => {
    const f = join(dir, 'metrics.jsonl');
    const row = (name: string, value: unknown, step?: number) => JSON.stringify({ name, value, ...(step === undefined ? {} : { step }), timestamp: '2026-01-01T00:00:00.000Z' });
    writeFileSync(f, [row('acc', 0.9, 2), row('acc', 0.5, 1), row('loss', 'NaN'), '{not json', ''].join('\n'));
    const m = reportedMetrics(f);
    expect(metricMeasure(m, 'acc')).to.deep.equal(found(0.9));
    expect(Number.isNaN((metricMeasure(m, 'loss') as { value: number }).value)).to.equal(true);
    expect(metricMeasure(m, 'f1')).to.deep.equal({ found: false, why: 'the task reported no metric "f1" (it reported acc, loss)' });
    expect(metricMeasure(reportedMetrics(join(dir, 'no-such.jsonl')), 'acc')).to.deep.equal({ found: false, why: 'the task reported no metric "acc" (it reported no metric rows)' });
  });
});
