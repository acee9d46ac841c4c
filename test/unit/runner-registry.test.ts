import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { RUNNERS } from '../../runners/index.js';
import { SCHEMA_DIR, SCHEMA_FILES, loadSchema } from '../../src/config/schema-files.js';
import { REPO } from '../helpers/cli.js';

/** Static imports of a compiled module (what Node loads before any of its code runs). */
const staticImports = (file: string) => [...readFileSync(file, 'utf8').matchAll(/^(?:import|export)\s(?:[^;]*?\sfrom\s+)?['"]([^'"]+)['"]/gm)].map((m) => m[1]);

/** Every module a compiled module loads statically, transitively (relative imports followed; others listed as named). */
function staticGraph(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of staticImports(file)) {
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec));
      else seen.add(spec);
    }
  };
  visit(entry);
  return seen;
}

/** A schema file that describes a runner section (its `runner` key is a constant: the runner's name). */
const runnerNameOf = (file: string): unknown => JSON.parse(readFileSync(join(SCHEMA_DIR, file), 'utf8')).properties?.runner?.const;

describe('the runner registry (runners/index.ts): one description per runner', () => {
  it('lists each runner once', () => {
    expect(new Set(RUNNERS.map((r) => r.name)).size).to.equal(RUNNERS.length);
    expect(RUNNERS.length).to.be.above(0);
  });

  for (const r of RUNNERS) {
    describe(r.name, () => {
      it(`has its schema under schemas/ (${r.schema}), describing its section`, () => {
        expect(existsSync(join(SCHEMA_DIR, r.schema)), `schemas/${r.schema}`).to.equal(true);
        expect(runnerNameOf(r.schema)).to.equal(r.name);
      });

      it('keeps every CLI flag under a key its schema knows', () => {
        const keys = Object.keys(loadSchema(r.schema).properties ?? {});
        for (const [flag, key] of Object.entries(r.flagKeys)) expect(keys, `--${flag} -> ${key}`).to.include(key);
      });

      it('creates a runner of its name with its capabilities; a batch runner runs chains (and only it)', async () => {
        const runner = await r.create();
        expect(runner.name).to.equal(r.name);
        expect(runner.capabilities).to.equal(r.capabilities);
        expect(typeof runner.submitGraph === 'function', 'submitGraph present').to.equal(r.capabilities.batch);
        expect(typeof r.jobControl === 'function', 'job control').to.equal(r.capabilities.batch);
      });
    });
  }

  it("every runner schema under schemas/ belongs to a runner of the registry, and none is among the runtime's own", () => {
    const runnerSchemas = readdirSync(SCHEMA_DIR).filter((f) => f.endsWith('.schema.json') && typeof runnerNameOf(f) === 'string');
    expect(runnerSchemas.length, 'runner schemas found (guards the scan)').to.be.above(0);
    expect(runnerSchemas.filter((f) => !RUNNERS.some((r) => r.schema === f))).to.deep.equal([]);
    expect(SCHEMA_FILES.filter((f) => typeof runnerNameOf(f) === 'string')).to.deep.equal([]);
  });

  it('the build compiles every runner schema: the registry loads without the validators it writes (#validators)', async () => {
    const graph = staticGraph(join(REPO, 'dist', 'src', 'build', 'compile-schemas.js'));
    expect(
      [...graph].some((f) => f.endsWith(join('runners', 'index.js'))),
      'compile-schemas takes the runners from the registry',
    ).to.equal(true);
    expect([...graph].filter((f) => f === '#validators' || f.endsWith(join('config', 'schemas.js'))).map((f) => relative(REPO, f))).to.deep.equal([]);
    const mod = (await import('#validators')).default;
    for (const r of RUNNERS) expect(typeof mod[r.schema.replace(/[^A-Za-z0-9]/g, '_')], r.schema).to.equal('function');
  });
});
