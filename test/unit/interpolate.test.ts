import { expect } from 'chai';
import { resolveTree } from '../../src/config/interpolate.js';
import { ConfigError } from '../../src/errors.js';

const env = { HOME: '/home/u', EMPTY: '' };

describe('interpolation (${...}, OmegaConf semantics)', () => {
  const table: [string, Record<string, unknown>, string, unknown][] = [
    ['absolute key', { name: 'mnist', x: '${name}' }, 'x', 'mnist'],
    ['embedded in a string', { name: 'mnist', x: 'img/${name}:1' }, 'x', 'img/mnist:1'],
    ['whole-string reference keeps the type', { n: 3, x: '${n}' }, 'x', 3],
    ['nested key', { runtime: { root: '/r', workspace: '${runtime.root}/workspace' }, x: '${runtime.workspace}/data' }, 'x', '/r/workspace/data'],
    ['chain of references', { a: '${b}', b: '${c}', c: 'end', x: '${a}' }, 'x', 'end'],
    ['environment', { x: '${oc.env:HOME}/x' }, 'x', '/home/u/x'],
    ['environment default', { x: '${oc.env:NOPE_NOT_SET,fallback}' }, 'x', 'fallback'],
    ['environment default nested', { name: 'n1', x: '${oc.env:NOPE_NOT_SET,${name}}' }, 'x', 'n1'],
    ['empty env var is a value', { x: '[${oc.env:EMPTY,d}]' }, 'x', '[]'],
    ['relative key', { docker: { image: 'i:1', tag: '${.image}' } }, 'docker', { image: 'i:1', tag: 'i:1' }],
    ['escaped', { x: '\\${name}' }, 'x', '${name}'],
    ['a reference to a map copies the map', { m: { a: 1 }, x: '${m}' }, 'x', { a: 1 }],
    ['inside lists', { name: 'n', x: ['${name}', 2] }, 'x', ['n', 2]],
    ['null and booleans render like Python', { t: true, z: null, x: '${t}-${z}' }, 'x', 'True-None'],
  ];
  for (const [what, tree, key, expected] of table) {
    it(what, () => {
      expect(resolveTree(tree, { env })[key]).to.deep.equal(expected);
    });
  }

  const errors: [string, Record<string, unknown>, RegExp][] = [
    ['missing key', { x: '${nope.key}' }, /interpolation key "nope.key" not found .* at key "x"/],
    ['${HOME} is not an env lookup', { x: '${HOME}/a' }, /interpolation key "HOME" not found/],
    ['cycle', { a: '${b}', b: '${a}' }, /interpolation cycle: a -> b -> a/],
    ['self reference', { a: 'x${a}' }, /interpolation cycle: a -> a/],
    ['unset env without default', { x: '${oc.env:NOPE_NOT_SET}' }, /environment variable "NOPE_NOT_SET" is not set/],
    ['unterminated', { x: '${name' }, /unterminated interpolation/],
    ['unknown resolver', { x: '${oc.create:{}}' }, /unknown resolver "oc.create"/],
  ];
  for (const [what, tree, re] of errors) {
    it(`error: ${what}`, () => {
      expect(() => resolveTree(tree, { env })).to.throw(ConfigError, re);
    });
  }

  it('names the source place of the offending value', () => {
    try {
      resolveTree({ a: { b: '${zzz}' } }, { env, placeOf: (p) => ({ file: 'cube.yaml', line: 4, col: p.length }) });
      expect.fail('should throw');
    } catch (e) {
      expect((e as Error).message).to.match(/^cube\.yaml:4:2: /);
    }
  });
});
