import { expect } from 'chai';
import { ConfigError, UsageError } from '../../src/errors.js';
import { formatTimeout, parseTimeout } from '../../src/plan/timeout.js';

describe('task timeouts (src/plan/timeout.ts)', () => {
  const GOOD: [unknown, number | null][] = [
    [undefined, null],
    [null, null],
    [90, 90_000],
    [1.5, 1500],
    ['90', 90_000],
    ['0.25', 250],
    ['90s', 90_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['1d', 86_400_000],
    ['250ms', 250],
    ['1m30s', 90_000],
    [' 2s ', 2000],
  ];
  for (const [value, ms] of GOOD) it(`${JSON.stringify(value)} -> ${ms} ms`, () => expect(parseTimeout(value, {})).to.equal(ms));

  for (const bad of ['', 'abc', '5 m', '-1', '0', 0, -3, '1y', '31d', 'm5', '5mm', 'Infinity', Number.NaN, true]) {
    it(`refuses ${JSON.stringify(bad)}: located in the cube file, a usage error on the command line`, () => {
      expect(() => parseTimeout(bad, { place: { file: 'mlcube.yaml', line: 3, col: 5, task: 't' } }))
        .to.throw(ConfigError, /timeout .* is not a duration between 1 ms and 30 days/)
        .with.property('place')
        .that.deep.equals({ file: 'mlcube.yaml', line: 3, col: 5, task: 't' });
      expect(() => parseTimeout(bad, { flag: true })).to.throw(UsageError, /^--timeout /);
    });
  }

  it('formats as people say it', () => {
    expect([1500, 59_000, 90_000, 3_600_000, 5_460_000].map(formatTimeout)).to.deep.equal(['1.5 s', '59 s', '1 min 30 s', '1 h 0 min', '1 h 31 min']);
  });
});
