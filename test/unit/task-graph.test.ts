import { expect } from 'chai';
import type { Tree } from '../../src/config/tree.js';
import { ConfigError } from '../../src/errors.js';
import { descendants, graphLevels, taskGraph, type TaskGraph } from '../../src/plan/graph.js';

const CTX = { workspace: '/ws', env: { DATA: '/data' }, home: '/home/u' };
const file = (d: string) => ({ type: 'file', default: d });
const dir = (d: string) => ({ type: 'directory', default: d });
const task = (inputs: Tree = {}, outputs: Tree = {}, more: Tree = {}): Tree => ({ parameters: { inputs, outputs }, ...more });

/** The diamond of the fixture cube (test/fixtures/cubes/diamond), declared out of graph order; e waits for d by depends_on. */
const DIAMOND: Tree = {
  d: task({ from_b: file('b/out.txt'), from_c: file('c/out.txt') }, { out: file('d/out.txt'), log_dir: dir('logs/') }),
  b: task({ from_a: file('a/out.txt') }, { out: file('b/out.txt'), log_dir: dir('logs/') }),
  c: task({ from_a: file('a/out.txt') }, { out: file('c/out.txt'), log_dir: dir('logs/') }),
  a: task({}, { out: file('a/out.txt'), log_dir: dir('logs/') }),
  e: task({}, { out: file('e/out.txt') }, { depends_on: ['d'] }),
};

/** Where a cube file would say the key is: its path joined, so a test can see which key the error points at. */
const placeOf = (path: readonly string[]) => ({ file: `mlcube.yaml#${path.join('.')}`, line: 1, col: 1 });

const graph = (tasks: Tree, names: string[]) => taskGraph({ tasks }, names, CTX, placeOf);
const parents = (g: TaskGraph) => Object.fromEntries(g.order.map((t) => [t, g.parents[t]]));

describe('task graph (src/plan/graph.ts: pure, from declared paths and depends_on)', () => {
  const ROWS: { what: string; tasks: Tree; names: string[]; order: string[]; parents: Record<string, string[]> }[] = [
    ...[
      ['a', 'b', 'c', 'd'],
      ['d', 'c', 'b', 'a'],
      ['b', 'd', 'a', 'c'],
      ['c', 'a', 'd', 'b'],
    ].map((names) => ({
      what: `the diamond in --task order ${names.join(',')}: a first, d last, b and c in the cube file's order`,
      tasks: DIAMOND,
      names,
      order: ['a', 'b', 'c', 'd'],
      parents: { a: [], b: ['a'], c: ['a'], d: ['b', 'c'] },
    })),
    {
      what: 'depends_on orders tasks the data does not',
      tasks: DIAMOND,
      names: ['e', 'd', 'c', 'b', 'a'],
      order: ['a', 'b', 'c', 'd', 'e'],
      parents: { a: [], b: ['a'], c: ['a'], d: ['b', 'c'], e: ['d'] },
    },
    { what: 'a depends_on naming a task not selected orders nothing', tasks: DIAMOND, names: ['e', 'a'], order: ['a', 'e'], parents: { a: [], e: [] } },
    { what: 'a producer not selected is no edge (its output is expected on disk)', tasks: DIAMOND, names: ['d', 'b'], order: ['b', 'd'], parents: { b: [], d: ['b'] } },
    {
      what: 'an input file inside an output directory, and an input directory around an output file',
      tasks: { use_file: task({ f: file('data/train.npz') }), make_dir: task({}, { data: dir('data/') }), use_dir: task({ all: dir('out/') }), make_file: task({}, { x: file('out/x.txt') }) },
      names: ['use_file', 'make_dir', 'use_dir', 'make_file'],
      order: ['make_dir', 'use_file', 'make_file', 'use_dir'],
      parents: { make_dir: [], use_file: ['make_dir'], make_file: [], use_dir: ['make_file'] },
    },
    {
      what: 'paths compared as the host sees them: $VAR, ~, ./ and trailing slashes',
      tasks: { make: task({}, { o: dir('$DATA/set/') }), use: task({ i: file('/data/set/./a.bin') }), home_make: task({}, { o: file('~/out.txt') }), home_use: task({ i: file('/home/u/out.txt') }) },
      names: ['use', 'make', 'home_use', 'home_make'],
      order: ['make', 'use', 'home_make', 'home_use'],
      parents: { make: [], use: ['make'], home_make: [], home_use: ['home_make'] },
    },
    {
      what: 'a shared output directory (a common log directory) orders nothing; a shared output file follows the cube file',
      tasks: { x: task({}, { log: dir('logs/'), f: file('same.txt') }), y: task({}, { log: dir('logs/'), g: file('same.txt') }), z: task({}, { log: dir('logs/') }) },
      names: ['z', 'y', 'x'],
      order: ['x', 'y', 'z'],
      parents: { x: [], y: ['x'], z: [] },
    },
    {
      what: "an output inside another task's output directory follows the cube file",
      tasks: { inner: task({}, { o: file('models/a/w.bin') }), outer: task({}, { o: dir('models/') }) },
      names: ['outer', 'inner'],
      order: ['inner', 'outer'],
      parents: { inner: [], outer: ['inner'] },
    },
    {
      what: 'an optional input left null names no path',
      tasks: { make: task({}, { o: file('null') }), use: task({ i: { type: 'file', default: 'null', optional: true } }) },
      names: ['use', 'make'],
      order: ['make', 'use'],
      parents: { make: [], use: [] },
    },
    { what: 'tasks with no parameters', tasks: { one: null, two: {} } as unknown as Tree, names: ['two', 'one'], order: ['one', 'two'], parents: { one: [], two: [] } },
  ];
  for (const row of ROWS) {
    it(row.what, () => {
      const g = graph(row.tasks, row.names);
      expect(g.order).to.deep.equal(row.order);
      expect(parents(g)).to.deep.equal(row.parents);
    });
  }

  it('says why each edge is there', () => {
    const g = graph(DIAMOND, ['a', 'b', 'c', 'd', 'e']);
    expect(g.edges.find((e) => e.from === 'b' && e.to === 'd')!.reasons).to.deep.equal([{ kind: 'data', output: 'out', input: 'from_b', path: '/ws/b/out.txt' }]);
    expect(g.edges.find((e) => e.from === 'd' && e.to === 'e')!.reasons).to.deep.equal([{ kind: 'depends_on' }]);
    expect(
      g.edges.some((e) => e.from === 'b' && e.to === 'c'),
      'the shared log directory orders nothing',
    ).to.equal(false);
  });

  it('levels: what may run side by side', () => {
    expect(graphLevels(graph(DIAMOND, ['a', 'b', 'c', 'd', 'e']))).to.deep.equal([['a'], ['b', 'c'], ['d'], ['e']]);
    expect(graphLevels(graph(DIAMOND, ['c', 'b']))).to.deep.equal([['b', 'c']]);
  });

  it('descendants: what a failure cancels', () => {
    const g = graph(DIAMOND, ['a', 'b', 'c', 'd', 'e']);
    expect([...descendants(g, 'b')].sort()).to.deep.equal(['d', 'e']);
    expect([...descendants(g, 'a')].sort()).to.deep.equal(['b', 'c', 'd', 'e']);
    expect([...descendants(g, 'e')]).to.deep.equal([]);
  });

  const ERRORS: { what: string; tasks: Tree; names: string[]; message: RegExp; file: string; task: string; parameter?: string }[] = [
    {
      what: 'a cycle through data, located at the input that closes it',
      tasks: { p: task({ i: file('q.txt') }, { o: file('p.txt') }), q: task({ i: file('p.txt') }, { o: file('q.txt') }) },
      names: ['q', 'p'],
      message: /the tasks form a cycle "(p" -> "q" -> "p|q" -> "p" -> "q)": .*waits for.*reads i = output o/,
      file: 'mlcube.yaml#tasks.',
      task: '',
    },
    {
      what: 'a cycle through depends_on and data',
      tasks: { p: task({}, { o: file('p.txt') }, { depends_on: ['r'] }), q: task({ i: file('p.txt') }, { o: file('q.txt') }), r: task({ i: file('q.txt') }) },
      names: ['p', 'q', 'r'],
      message: /the tasks form a cycle .*"p".*"q".*"r".*depends_on/,
      file: 'mlcube.yaml#tasks.',
      task: '',
    },
    {
      what: 'a depends_on naming no task of the cube',
      tasks: { p: task({}, {}, { depends_on: ['nope'] }), q: task() },
      names: ['p'],
      message: /depends_on names "nope", which is no task of the cube \(it has: p, q\)/,
      file: 'mlcube.yaml#tasks.p.depends_on.0',
      task: 'p',
    },
    {
      what: 'a task that depends on itself',
      tasks: { p: task({}, {}, { depends_on: ['p'] }) },
      names: ['p'],
      message: /depends_on names the task itself/,
      file: 'mlcube.yaml#tasks.p.depends_on.0',
      task: 'p',
    },
  ];
  for (const row of ERRORS) {
    it(`refuses ${row.what} (exit 2, located)`, () => {
      let err: unknown;
      try {
        graph(row.tasks, row.names);
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(ConfigError);
      const e = err as ConfigError;
      expect(e.exitCode).to.equal(2);
      expect(e.detail).to.match(row.message);
      expect(e.place?.file).to.satisfy((f: string) => f.startsWith(row.file));
      if (row.task) expect(e.place?.task).to.equal(row.task);
      else expect(e.place?.task).to.be.oneOf(row.names);
      expect(e.suggestions.length).to.be.greaterThan(0);
    });
  }

  it('a data cycle points at the input parameter of the task that waits', () => {
    try {
      graph({ p: task({ i: file('q.txt') }, { o: file('p.txt') }), q: task({ i: file('p.txt') }, { o: file('q.txt') }) }, ['p', 'q']);
      expect.fail('no cycle found');
    } catch (e) {
      const place = (e as ConfigError).place!;
      expect(place.file).to.equal(`mlcube.yaml#tasks.${place.task}.parameters.inputs.i`);
      expect(place.parameter).to.equal('i');
    }
  });
});
