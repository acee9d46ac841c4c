import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import standaloneCode from 'ajv/dist/standalone/index.js';
import { PACKAGE_ROOT } from '../package-root.js';
import { AJV_OPTIONS, SCHEMA_FILES, loadSchema, validatorExportName } from '../config/schema-files.js';

/**
 * Build step: compiles schemas/*.json into one CommonJS module of standalone validators,
 * dist/validators.generated.cjs, imported as `#validators` (package.json "imports"), so a CLI start does not
 * load and run the ajv compiler (about 70 ms of the 250 ms budget of show_config).
 */
const ajv = new Ajv({ ...AJV_OPTIONS, code: { source: true, esm: false } });
for (const f of SCHEMA_FILES) ajv.addSchema(loadSchema(f), f);
const exportsMap = Object.fromEntries(SCHEMA_FILES.map((f) => [validatorExportName(f), f]));
const code = (standaloneCode as unknown as (a: Ajv, m: Record<string, string>) => string)(ajv, exportsMap);
const out = join(PACKAGE_ROOT, 'dist', 'validators.generated.cjs');
writeFileSync(out, code);
process.stderr.write(`compiled ${SCHEMA_FILES.length} schemas into ${out}\n`);
