import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, UsageError } from '../../src/errors.js';
import {
  affectedTasks,
  checkExperiment,
  derivedFile,
  expandSweep,
  parseSweepKey,
  parseTags,
  rerootOverrides,
  scopedTaskArgs,
  splitTaskArgs,
  sweepFlagFactor,
  sweepId,
  sweepValue,
  taskArgsAsParams,
  valueText,
  type SweepFactor,
} from '../../src/plan/sweep.js';
import { readSweepFile } from '../../src/plan/sweep-file.js';
import { RUN_LABELS_ENV, runLabelsFromEnv } from '../../src/provenance/labels.js';
import type { Tree } from '../../src/config/tree.js';
import type { TaskGraph } from '../../src/plan/graph.js';
import { tempDir } from '../helpers/cli.js';

const values = (f: SweepFactor[]) => expandSweep(f).map((p) => Object.fromEntries(Object.entries(p.values).map(([k, v]) => [k, v.value])));

describe('sweeps: expanding --sweep and sweep files (src/plan/sweep.ts)', () => {
  const PRODUCTS: [string[], Record<string, unknown>[]][] = [
    [['a=1'], [{ a: 1 }]],
    [['lr=0.001,0.01'], [{ lr: 0.001 }, { lr: 0.01 }]],
    [
      ['train.yaml:learning_rate=0.001,0.002', 'train.yaml:model=mlp,cnn'],
      [
        { 'train.yaml:learning_rate': 0.001, 'train.yaml:model': 'mlp' },
        { 'train.yaml:learning_rate': 0.001, 'train.yaml:model': 'cnn' },
        { 'train.yaml:learning_rate': 0.002, 'train.yaml:model': 'mlp' },
        { 'train.yaml:learning_rate': 0.002, 'train.yaml:model': 'cnn' },
      ],
    ],
    [['x=true,no, 3 ,null,q'], [{ x: true }, { x: false }, { x: 3 }, { x: null }, { x: 'q' }]],
    [
      ['a=1,2', 'b=x', 'c=7,8'],
      [
        { a: 1, b: 'x', c: 7 },
        { a: 1, b: 'x', c: 8 },
        { a: 2, b: 'x', c: 7 },
        { a: 2, b: 'x', c: 8 },
      ],
    ],
  ];
  for (const [flags, want] of PRODUCTS) {
    it(`${flags.join(' ')}: ${want.length} points, the first key varying slowest, numbered from 0`, () => {
      const factors = flags.map(sweepFlagFactor);
      expect(values(factors)).to.deep.equal(want);
      expect(expandSweep(factors).map((p) => p.index)).to.deep.equal(want.map((_, i) => i));
    });
  }

  const BAD_FLAGS: [string, RegExp][] = [
    ['lr', /--sweep lr: expected KEY=V1,V2/],
    ['=1,2', /expected KEY=V1,V2/],
    ['lr=', /--sweep lr=: the value list is empty/],
    ['lr=,', /the value list is empty/],
    ['lr=1,,2', /--sweep lr=1,,2: value 2 is empty/],
    ['a..b=1', /the sweep key "a..b" is not a dotted configuration key/],
    ['tasks.__proto__.x=1', /is not a dotted configuration key/],
    [':lr=1', /is not FILE:dotted.key/],
    ['train.yaml:=1', /is not FILE:dotted.key/],
    ['/etc/x.yaml:a=1', /not a workspace-relative file/],
    ['../x.yaml:a=1', /not a workspace-relative file/],
  ];
  for (const [raw, msg] of BAD_FLAGS) it(`refuses --sweep ${raw}`, () => expect(() => sweepFlagFactor(raw)).to.throw(UsageError, msg));

  it('a key swept twice is refused at its second place', () => {
    expect(() => expandSweep(['a=1', 'a=2'].map(sweepFlagFactor))).to.throw(UsageError, /--sweep a=2: the key "a" is swept twice \(also by --sweep a=1\)/);
  });

  const KEYS: [string, ReturnType<typeof parseSweepKey>][] = [
    ['tasks.train.parameters.inputs.train_config', { kind: 'config', key: 'tasks.train.parameters.inputs.train_config' }],
    ['train.yaml:learning_rate', { kind: 'file', file: 'train.yaml', path: ['learning_rate'] }],
    ['cfg/train.yaml:optim.lr', { kind: 'file', file: 'cfg/train.yaml', path: ['optim', 'lr'] }],
  ];
  for (const [key, want] of KEYS)
    it(`the key ${key} names ${want.kind === 'config' ? 'a configuration key' : 'a file key'}`, () => expect(parseSweepKey({ key, place: {}, from: 'x' })).to.deep.equal(want));

  for (const v of ['mlp', 0.001, 3, true, null, 'a,b', '0.5', 'yes', '', 'null']) {
    it(`the sweep file value ${JSON.stringify(v)} is written as -P text that reads back as itself`, () => {
      const text = valueText(v as string);
      expect(sweepValue(text).value).to.deep.equal(v);
      // A comma would split a --sweep list: such a value is quoted.
      if (text.includes(',')) expect(text.startsWith('"'), text).to.equal(true);
    });
  }

  describe('sweep files (schemas/sweep.schema.json)', () => {
    let dir: { dir: string; cleanup: () => void };
    before(() => (dir = tempDir('mlcube-sweep-file-')));
    after(() => dir.cleanup());
    const file = (name: string, text: string) => {
      const f = join(dir.dir, name);
      writeFileSync(f, text);
      return f;
    };

    it('a grid: the product of its keys, first slowest; combined with --sweep flags before it', () => {
      const f = file('grid.yaml', '# a grid\ngrid:\n  train.yaml:learning_rate: [0.001, 0.01]\n  train.yaml:model: [mlp, cnn]\n');
      expect(values(readSweepFile(f))).to.deep.equal([
        { 'train.yaml:learning_rate': 0.001, 'train.yaml:model': 'mlp' },
        { 'train.yaml:learning_rate': 0.001, 'train.yaml:model': 'cnn' },
        { 'train.yaml:learning_rate': 0.01, 'train.yaml:model': 'mlp' },
        { 'train.yaml:learning_rate': 0.01, 'train.yaml:model': 'cnn' },
      ]);
      expect(values([sweepFlagFactor('seed=1,2'), ...readSweepFile(f)])).to.have.length(8);
    });

    it('points: each as listed', () => {
      const f = file('points.yaml', 'points:\n  - {a: 1, b: x}\n  - {a: 2, b: "y,z"}\n');
      expect(values(readSweepFile(f))).to.deep.equal([
        { a: 1, b: 'x' },
        { a: 2, b: 'y,z' },
      ]);
    });

    const BAD: [string, string, RegExp][] = [
      ['empty-list.yaml', 'grid:\n  a: []\n', /empty-list\.yaml:2:6: /],
      ['both.yaml', 'grid:\n  a: [1]\npoints:\n  - {a: 1}\n', /both\.yaml/],
      ['neither.yaml', 'description: nothing\n', /neither\.yaml/],
      ['object-value.yaml', 'points:\n  - {a: {b: 1}}\n', /object-value\.yaml:2:\d+/],
      ['bad-key.yaml', 'grid:\n  "x..y": [1]\n', /bad-key\.yaml:2:3: the sweep file .*: the sweep key "x\.\.y" is not a dotted configuration key/],
      ['yaml-error.yaml', 'grid: [\n', /yaml-error\.yaml:\d+:\d+/],
    ];
    for (const [name, text, msg] of BAD) {
      it(`${name}: a located error (exit 2)`, () => {
        const f = file(name, text);
        let err: unknown;
        try {
          readSweepFile(f);
        } catch (e) {
          err = e;
        }
        expect(err, 'refused').to.be.instanceOf(Error);
        expect((err as { exitCode: number }).exitCode).to.equal(2);
        expect((err as Error).message).to.match(msg);
      });
    }
  });
});

describe('sweeps: derived files, affected tasks, own outputs (src/plan/sweep.ts)', () => {
  const spec = { key: 'train.yaml:learning_rate', place: {}, from: '--sweep train.yaml:learning_rate=0.1' };
  const TRAIN = '# comment kept\nmodel: mlp # inline too\nlearning_rate: 0.001\noptim:\n  betas: [0.9, 0.99]\n';

  const SETS: [string[], unknown, RegExp][] = [
    [['learning_rate'], 0.1, /^# comment kept\nmodel: mlp # inline too\nlearning_rate: 0\.1\n/],
    [['model'], 'cnn', /model: cnn # inline too/],
    [['optim', 'betas', '1'], 0.5, /betas: \[ 0\.9, 0\.5 \]/],
  ];
  for (const [path, value, want] of SETS) {
    it(`sets ${path.join('.')} = ${String(value)}, comments kept`, () => expect(derivedFile(TRAIN, '/w/train.yaml', [{ spec, path, value: value as never }])).to.match(want));
  }
  for (const path of [['lr'], ['optim', 'momentum'], ['optim', 'betas', '2'], ['model', 'x']]) {
    it(`a missing key ${path.join('.')} is a ConfigError at the file, naming the sweep key and the file's keys`, () => {
      expect(() => derivedFile(TRAIN, '/w/train.yaml', [{ spec, path, value: 1 }]))
        .to.throw(ConfigError, new RegExp(`--sweep train.yaml:learning_rate=0.1: /w/train.yaml has no key "${path.join('\\.')}" \\(its keys: model, learning_rate, optim\\)`))
        .with.property('place')
        .that.deep.equals({ file: '/w/train.yaml' });
    });
  }

  // MNIST's shape: download -> train -> evaluate, each with a log directory.
  const param = (d: string, type = 'directory') => ({ type, default: d });
  const cfg = (trainConfig = 'train.yaml', image = 'x'): Tree => ({
    docker: { image },
    runtime: { workspace: '/w' },
    tasks: {
      download: { parameters: { inputs: { data_config: param('data.yaml', 'file') }, outputs: { data_dir: param('data'), log_dir: param('logs') } } },
      train: { parameters: { inputs: { data_dir: param('data'), train_config: param(trainConfig, 'file') }, outputs: { model_dir: param('model'), log_dir: param('logs') } } },
      evaluate: { parameters: { inputs: { data_dir: param('data'), model_dir: param('model') }, outputs: { metrics_dir: param('metrics'), log_dir: param('logs') } } },
    },
  });
  const graph: TaskGraph = { order: ['download', 'train', 'evaluate'], parents: { download: [], train: ['download'], evaluate: ['download', 'train'] }, edges: [] };

  const AFFECTED: [string, Tree[], string[]][] = [
    ['a changed train config: train and what waits for it', [cfg('sweeps/s/0/train.yaml'), cfg('sweeps/s/1/train.yaml')], ['train', 'evaluate']],
    ['one point equal to the base: still every point runs what another changes', [cfg(), cfg('other.yaml')], ['train', 'evaluate']],
    ['a change outside tasks (the image): every task', [cfg('train.yaml', 'y')], ['download', 'train', 'evaluate']],
    ['nothing changed: no task', [cfg(), cfg()], []],
  ];
  for (const [what, points, want] of AFFECTED) it(what, () => expect(affectedTasks(cfg(), points, graph)).to.deep.equal(want));

  it("re-roots the affected tasks' outputs and what reads them under the point's directory; shared inputs stay", () => {
    expect(rerootOverrides(cfg(), ['train', 'evaluate'], { workspace: '/w', env: {}, home: '/h' }, 'sweeps/s/3')).to.deep.equal([
      'tasks.train.parameters.outputs.model_dir.default=sweeps/s/3/model',
      'tasks.train.parameters.outputs.log_dir.default=sweeps/s/3/logs',
      'tasks.evaluate.parameters.inputs.model_dir.default=sweeps/s/3/model',
      'tasks.evaluate.parameters.outputs.metrics_dir.default=sweeps/s/3/metrics',
      'tasks.evaluate.parameters.outputs.log_dir.default=sweeps/s/3/logs',
    ]);
  });

  it('an input inside an affected output moves with it (a file in the model directory)', () => {
    const c = cfg();
    ((c.tasks as Tree).evaluate as Tree).parameters = { inputs: { weights: param('model/w.bin', 'file') }, outputs: { metrics_dir: param('metrics') } };
    expect(rerootOverrides(c, ['train', 'evaluate'], { workspace: '/w', env: {}, home: '/h' }, 'sweeps/s/0')).to.include('tasks.evaluate.parameters.inputs.weights.default=sweeps/s/0/model/w.bin');
  });

  for (const [out, why] of [
    ['/elsewhere/model', 'outside the workspace'],
    ['.', 'the workspace itself'],
  ]) {
    it(`an affected output ${why} is a ConfigError at that parameter`, () => {
      const c = cfg();
      (((c.tasks as Tree).train as Tree).parameters as Tree).outputs = { model_dir: param(out) };
      expect(() => rerootOverrides(c, ['train'], { workspace: '/w', env: {}, home: '/h' }, 'sweeps/s/0', () => ({ file: 'mlcube.yaml', line: 9, col: 3 })))
        .to.throw(ConfigError, new RegExp(`output "model_dir" is .*, ${why}: the points of a sweep would all write it`))
        .with.property('place')
        .that.deep.equals({ file: 'mlcube.yaml', line: 9, col: 3, task: 'train', parameter: 'model_dir' });
    });
  }

  it('task overrides naming a parameter a point sets become -P overrides of every task with it; the others stay', () => {
    const split = splitTaskArgs(['train_config=quick.yaml', '--data_dir=/d', 'x=1'], new Set(['train_config', 'data_dir']));
    expect(split).to.deep.equal({
      kept: ['x=1'],
      taken: [
        ['train_config', 'quick.yaml'],
        ['data_dir', '/d'],
      ],
    });
    expect(taskArgsAsParams(cfg().tasks as Tree, split.taken)).to.deep.equal([
      'tasks.train.parameters.inputs.train_config.default=quick.yaml',
      'tasks.download.parameters.outputs.data_dir.default=/d',
      'tasks.train.parameters.inputs.data_dir.default=/d',
      'tasks.evaluate.parameters.inputs.data_dir.default=/d',
    ]);
  });

  it('a run of some tasks keeps only the task overrides naming their parameters', () => {
    expect(scopedTaskArgs(['train_config=q.yaml', 'data_config=d.yaml', 'log_dir=l'], cfg().tasks as Tree, ['download'])).to.deep.equal(['data_config=d.yaml', 'log_dir=l']);
  });

  it('ids, experiment names and tags', () => {
    expect(sweepId(undefined, new Date('2026-12-01T19:50:58.123Z'), 'abc123')).to.equal('sweep-20261201T195058Z-abc123');
    expect(sweepId('lr-study', new Date('2026-12-01T19:50:58Z'), '00ff00')).to.equal('lr-study-20261201T195058Z-00ff00');
    expect(checkExperiment('mnist_v2.lr')).to.equal('mnist_v2.lr');
    for (const bad of ['', 'a/b', '-x', 'a b', 'x'.repeat(101)]) expect(() => checkExperiment(bad), bad).to.throw(UsageError, /--experiment=/);
    expect(parseTags(['owner=alice', 'note=a=b', 'owner=bob'])).to.deep.equal({ owner: 'bob', note: 'a=b' });
    for (const bad of ['owner', '=x', 'a b=c']) expect(() => parseTags([bad]), bad).to.throw(UsageError, /--tag=.*expected KEY=VALUE/);
  });
});

describe("a batch job's labels from its environment (src/provenance/labels.ts)", () => {
  const GOOD: [string | undefined, unknown][] = [
    [undefined, undefined],
    ['', undefined],
    ['{"experiment":null,"tags":{}}', { experiment: null, tags: {} }],
    ['{"experiment":"e","tags":{"k":"v"},"sweep":{"id":"s","point":2,"values":{"a":1}}}', { experiment: 'e', tags: { k: 'v' }, sweep: { id: 's', point: 2, values: { a: 1 } } }],
    ['{"experiment":"e","tags":{},"sweep":{"id":"s","point":null,"values":{}}}', { experiment: 'e', tags: {}, sweep: { id: 's', point: null, values: {} } }],
  ];
  for (const [text, want] of GOOD) it(`${JSON.stringify(text)}`, () => expect(runLabelsFromEnv({ [RUN_LABELS_ENV]: text })).to.deep.equal(want));
  for (const bad of ['{', '[]', '{"experiment":3,"tags":{}}', '{"experiment":null,"tags":{"k":1}}', '{"experiment":null,"tags":{},"sweep":{"id":"s","point":1.5,"values":{}}}']) {
    it(`refuses ${bad}: exit 2 naming the variable`, () => expect(() => runLabelsFromEnv({ [RUN_LABELS_ENV]: bad })).to.throw(UsageError, /\$MLCUBE_RUN_LABELS is not the JSON of a run's labels/));
  }
});
