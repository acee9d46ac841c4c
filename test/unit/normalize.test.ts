import { expect } from 'chai';
import { normalizeParam, normalizeTasks, inferType } from '../../src/params/normalize.js';

describe('parameter normalisation (Python MLCubeConfig.check_parameters)', () => {
  const table: [string, string, unknown, unknown][] = [
    ['short form directory', 'data_dir', 'data/', { default: 'data/', type: 'directory' }],
    ['short form, Windows separator', 'model_dir', 'model\\', { default: 'model\\', type: 'directory' }],
    ['short form without slash is unknown', 'input_file', 'data/raw.txt', { default: 'data/raw.txt', type: 'unknown' }],
    ['null: the name is the path', 'p', null, { default: 'p', type: 'unknown' }],
    ['empty map: the name is the path', 'p', {}, { default: 'p', type: 'unknown' }],
    ['long form kept, no slash added', 'd', { type: 'directory', default: 'data' }, { type: 'directory', default: 'data' }],
    ['long form file kept', 'f', { type: 'file', default: 'data.yaml' }, { type: 'file', default: 'data.yaml' }],
    ['long form without default', 'f', { type: 'file' }, { type: 'file', default: 'f' }],
    ['long form without type: inferred', 'd', { default: 'out/' }, { default: 'out/', type: 'directory' }],
    ['extra keys kept', 'd', { type: 'directory', default: 'x', opts: 'ro', note: 1 }, { type: 'directory', default: 'x', opts: 'ro', note: 1 }],
  ];
  for (const [what, name, spec, expected] of table) {
    it(what, () => expect(normalizeParam(name, spec)).to.deep.equal(expected));
  }

  it('keeps key order: short form gives default first', () => {
    expect(Object.keys(normalizeParam('x', 'a/'))).to.deep.equal(['default', 'type']);
  });

  it('infers from both separators', () => {
    expect([inferType('a/'), inferType('a\\'), inferType('a')]).to.deep.equal(['directory', 'directory', 'unknown']);
  });

  it('normalises tasks: null task, null entrypoint, missing groups; applies overrides and re-infers', () => {
    const { tasks, warnings } = normalizeTasks(
      { a: null, b: { entrypoint: null, parameters: { inputs: { x: 'in.txt' } } }, c: { parameters: { outputs: { y: { type: 'file', default: 'y.txt' } } } } },
      new Map([
        ['x', 'other/'],
        ['y', '/abs/y.bin'],
      ]),
    );
    expect(tasks).to.deep.equal({
      a: { parameters: { inputs: {}, outputs: {} } },
      b: { parameters: { inputs: { x: { default: 'other/', type: 'directory' } }, outputs: {} } },
      c: { parameters: { outputs: { y: { type: 'file', default: '/abs/y.bin' } }, inputs: {} } },
    });
    expect(warnings).to.deep.equal(['task "b": entrypoint is null, a default entrypoint will be used']);
  });
});
