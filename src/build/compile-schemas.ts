import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import standaloneCode from 'ajv/dist/standalone/index.js';
import { PACKAGE_ROOT } from '../package-root.js';
import { AJV_OPTIONS, SCHEMA_FILES, loadSchema, validatorExportName, type SchemaName } from '../config/schema-files.js';
// The registry loads without the validators this step writes (tested: test/unit/runner-registry.test.ts).
import { RUNNERS } from '../../runners/index.js';

/**
 * Build step: compiles schemas/*.json into one CommonJS module of standalone validators,
 * dist/validators.generated.cjs, imported as `#validators` (package.json "imports"), so a CLI start does not
 * load and run the ajv compiler (about 70 ms of the 250 ms budget of show_config).
 */
const files: SchemaName[] = [...SCHEMA_FILES, ...RUNNERS.map((r) => r.schema)];
const ajv = new Ajv({ ...AJV_OPTIONS, code: { source: true, esm: false } });
for (const f of files) ajv.addSchema(loadSchema(f), f);
const exportsMap = Object.fromEntries(files.map((f) => [validatorExportName(f), f]));
const code = (standaloneCode as unknown as (a: Ajv, m: Record<string, string>) => string)(ajv, exportsMap);
const out = join(PACKAGE_ROOT, 'dist', 'validators.generated.cjs');
writeFileSync(out, code);
process.stderr.write(`compiled ${files.length} schemas into ${out}\n`);
