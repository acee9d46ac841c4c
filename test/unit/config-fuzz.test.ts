import { expect } from 'chai';
import { prng } from '../helpers/prng.js';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConfig } from '../../src/config/build.js';
import { RUNNERS } from '../../runners/index.js';
import { isMlcubeError } from '../../src/errors.js';
import { REPO } from '../helpers/cli.js';

/** YAML and interpolation shapes that broke parsers before (aliases, cycles, prototypes, NULs, long lines...). */
const SNIPPETS = [
  '&a [*a]',
  'self: &s [*s]',
  '*nope',
  '__proto__',
  '__proto__: 1',
  '\0',
  '${',
  '${oc.env:X}',
  '${a.b}',
  '${.x}',
  '${name}',
  '\\${',
  ': :',
  '- ',
  '!!binary',
  '~',
  'null',
  '[',
  '{',
  '"',
  "'",
  '\t',
  'x'.repeat(300),
  '&x',
  '<<: *x',
  '? [a]\n: 1',
  '!!python/object',
  '1e999',
  '.nan',
  'constructor',
  'prototype',
  '\n  ',
  '\r\n',
];

/**
 * Property: a mutated cube file either builds or fails with a located MlcubeError (documented exit code), never
 * another exception. The seeds are the project's own cubes, so the suite needs nothing outside the repository.
 */
describe('config loading, fuzzed: 2,000 mutated cube files end in a config or an MlcubeError, never a crash', function () {
  const SEED = Number(process.env.MLCUBE_FUZZ_SEED ?? 20261201);
  const COUNT = Number(process.env.MLCUBE_FUZZ_COUNT ?? 2000);
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'mlcube-config-fuzz-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it(`holds for ${COUNT} mutations (seed ${SEED}; replay with MLCUBE_FUZZ_SEED / MLCUBE_FUZZ_COUNT)`, function () {
    this.timeout(120_000);
    const seeds = ['test/fixtures/cubes/basic/mlcube.yaml', 'cubes/mnist/mlcube.yaml', 'cubes/template/mlcube.yaml'].map((f) => readFileSync(join(REPO, f), 'utf8'));
    const rand = prng(SEED);
    const pick = <T>(a: readonly T[]) => a[Math.floor(rand() * a.length)];
    const started = Date.now();
    const outcomes = { built: 0, rejected: 0 };
    for (let i = 0; i < COUNT; i++) {
      let t = pick(seeds);
      for (let k = 1 + Math.floor(rand() * 3); k > 0; k--) {
        const at = Math.floor(rand() * t.length);
        const op = Math.floor(rand() * 4);
        if (op === 0) t = t.slice(0, at) + pick(SNIPPETS) + t.slice(at);
        else if (op === 1) t = t.slice(0, at) + t.slice(at + Math.floor(rand() * 20));
        else if (op === 2) {
          const from = Math.floor(rand() * t.length);
          t = t.slice(0, at) + t.slice(from, from + 30) + t.slice(at);
        } else t = t.slice(0, at) + String.fromCharCode(Math.floor(rand() * 128)) + t.slice(at + 1);
      }
      const cube = join(dir, String(i));
      mkdirSync(cube);
      writeFileSync(join(cube, 'mlcube.yaml'), t);
      for (const platform of ['local', 'docker']) {
        try {
          buildConfig({ mlcube: cube, cwd: cube, env: {}, home: dir, platform, resolve: true }, RUNNERS);
          outcomes.built++;
        } catch (e) {
          if (!isMlcubeError(e)) expect.fail(`case ${i} (seed ${SEED}, platform ${platform}): ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}\n--- cube file ---\n${t}`);
          outcomes.rejected++;
        }
      }
    }
    console.log(`      config fuzz: seed ${SEED}, ${COUNT} files x 2 platforms: ${outcomes.built} built, ${outcomes.rejected} rejected with an MlcubeError, ${Date.now() - started} ms`);
  });

  const located: Array<[string, string, RegExp]> = [
    ['an alias to its own ancestor', 'name: x\nself: &s [*s]\n', /mlcube.yaml:2:\d+: alias \*s refers to a value that contains it/],
    ['an alias to nothing', 'name: x\nx: *nope\n', /mlcube.yaml:2:4: alias \*nope names no anchor/],
    [
      'an alias bomb',
      `name: x\na: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [${'*a,'.repeat(9)}*a]\nc: &c [${'*b,'.repeat(9)}*b]\nd: [${'*c,'.repeat(9)}*c]\n`,
      /the YAML cannot be expanded: Excessive alias count/,
    ],
    ['a __proto__ key', 'name: x\ntasks:\n  __proto__: {}\n', /mlcube.yaml:3:3: the key "__proto__" is not allowed/],
    ['a mapping as a key', 'name: x\n? [a]\n: 1\n', /mlcube.yaml:2:3: a mapping key is itself a mapping, a list or binary data/],
    ['binary data as a key', 'name: x\n? !!binary aGVsbG8=\n: 1\n', /mlcube.yaml:2:\d+: a mapping key is itself a mapping, a list or binary data/],
    ['a file over 1 MiB', `name: x\ndescription: "${'x'.repeat(1024 * 1024)}"\n`, /mlcube.yaml: the file is \d+ bytes; a cube or settings file may hold at most 1048576 bytes/],
  ];
  for (const [what, text, message] of located) {
    it(`${what} is a ConfigError naming the place`, () => {
      const cube = join(dir, what.replace(/\W+/g, '-'));
      mkdirSync(cube, { recursive: true });
      writeFileSync(join(cube, 'mlcube.yaml'), text);
      let caught: unknown;
      try {
        buildConfig({ mlcube: cube, cwd: cube, env: {}, home: dir, platform: 'local', resolve: true }, RUNNERS);
      } catch (e) {
        caught = e;
      }
      expect(isMlcubeError(caught), String(caught)).to.equal(true);
      expect((caught as { exitCode: number }).exitCode).to.equal(2);
      expect((caught as Error).message).to.match(message);
    });
  }

  it('rejects __proto__ in -P keys and as a task override', () => {
    const cube = join(dir, 'proto-override');
    mkdirSync(cube, { recursive: true });
    writeFileSync(join(cube, 'mlcube.yaml'), readFileSync(join(REPO, 'test/fixtures/cubes/basic/mlcube.yaml')));
    for (const [opts, message] of [
      [{ params: ['__proto__.x=1'] }, /-P "__proto__.x=1": the key "__proto__" is not allowed/],
      [{ taskArgs: ['__proto__=x'] }, /"__proto__" is no parameter name/],
    ] as const) {
      expect(() => buildConfig({ mlcube: cube, cwd: cube, env: {}, home: dir, platform: 'local', resolve: true, ...opts }, RUNNERS)).to.throw(message);
    }
  });
});
