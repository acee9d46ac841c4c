import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import standaloneCode from 'ajv/dist/standalone/index.js';
import { PACKAGE_ROOT } from '../package-root.js';

// schemas.js loads the previous build's validators at import: remove them first, so a broken one cannot block this.
rmSync(join(PACKAGE_ROOT, 'dist', 'validators.generated.js'), { force: true });
const { AJV_OPTIONS, PRECOMPILED_VALIDATORS, SCHEMA_FILES, loadSchema } = await import('./schemas.js');

/**
 * Build step: compiles schemas/*.json into one ESM module of standalone validators, so a CLI start does not
 * load and run the ajv compiler (about 70 ms of the 250 ms budget of show_config).
 */
const ajv = new Ajv({ ...AJV_OPTIONS, code: { source: true, esm: true } });
for (const f of SCHEMA_FILES) ajv.addSchema(loadSchema(f), f);
const exportsMap = Object.fromEntries(SCHEMA_FILES.map((f) => [f.replace(/[^A-Za-z0-9]/g, '_'), f]));
const code = (standaloneCode as unknown as (a: Ajv, m: Record<string, string>) => string)(ajv, exportsMap);
const out = PRECOMPILED_VALIDATORS;
// Standalone code still require()s ajv's small runtime helpers (e.g. ucs2length for minLength): give the ES module a require.
writeFileSync(out, `import { createRequire } from 'node:module';\nconst require = createRequire(import.meta.url);\n${code}`);
process.stderr.write(`compiled ${SCHEMA_FILES.length} schemas into ${out}\n`);
