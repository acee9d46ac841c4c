import { expect } from 'chai';
import { parseDocument, parse } from 'yaml';
import { YAML_11 } from '../../src/config/yaml-schema.js';

// PyYAML (the Python MLCube's reader) reads a plain scalar as a float only when it has a digit; `yaml`'s 1.1 rules
// also took `.`, `+.`, `e5` (as NaN). Every scalar with a digit keeps yaml's 1.1 reading.
const CASES: [string, unknown][] = [
  ['.', '.'],
  ['+.', '+.'],
  ['-.', '-.'],
  ['._', '._'],
  ['e5', 'e5'],
  ['E10', 'E10'],
  ['.e5', '.e5'],
  ['.5', 0.5],
  ['-.5', -0.5],
  ['1.', 1],
  ['3.14', 3.14],
  ['1_000.5', 1000.5],
  ['1e5', 100000],
  ['1.5e-3', 0.0015],
  ['1:30.5', 90.5],
  ['.inf', Infinity],
  ['-.inf', -Infinity],
  ['.nan', NaN],
  ['yes', true],
  ['0x1F', 31],
  ['~', null],
  ['./data', './data'],
];

describe('YAML 1.1 as PyYAML reads it (src/config/yaml-schema.ts)', () => {
  for (const [text, expected] of CASES) {
    it(`${JSON.stringify(text)} reads as ${typeof expected === 'string' ? JSON.stringify(expected) : String(expected)}`, () => {
      const got = parseDocument(`a: ${text}`, YAML_11).toJS().a;
      if (Number.isNaN(expected)) expect(Number.isNaN(got), String(got)).to.equal(true);
      else expect(got).to.deep.equal(expected);
    });
  }

  it('a string written with these rules reads back as the same string (no quoting needed, no NaN)', () => {
    for (const [text] of CASES.filter(([, v]) => typeof v === 'string')) {
      const written = parseDocument('{}', YAML_11);
      written.set('a', text);
      expect(parse(String(written), YAML_11).a, String(written)).to.equal(text);
    }
  });

  it('the unpatched 1.1 rules are what the fix is about (control: yaml reads "." as NaN)', () => {
    expect(Number.isNaN(parseDocument('a: .', { version: '1.1' }).toJS().a)).to.equal(true);
  });
});
