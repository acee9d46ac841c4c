import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../package-root.js';
import type { RunnerSchemaName } from '../runner.js';

/** The JSON Schemas under schemas/, shared by the build (compile-schemas.ts) and the validators (schemas.ts). */
export const SCHEMA_DIR = join(PACKAGE_ROOT, 'schemas');

/** The schemas of the runtime itself; each runner's comes with its description (runners/index.ts RUNNERS). */
export const SCHEMA_FILES = [
  'mlcube.schema.json',
  'settings.schema.json',
  'metric-row.schema.json',
  'run-record.schema.json',
  'dsse-envelope.schema.json',
  'policy.schema.json',
  'sweep.schema.json',
] as const;

export type SchemaName = (typeof SCHEMA_FILES)[number] | RunnerSchemaName;
// JSON Schema documents as read from schemas/: untyped JSON that ajv compiles and the config layer walks.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a schema's keywords are open-ended JSON
export type JsonSchema = Record<string, any>;

export const AJV_OPTIONS = { allErrors: true, verbose: true, strict: true, strictTypes: false, allowUnionTypes: true } as const;

/** Name of a schema's validator in the generated module. */
export const validatorExportName = (name: SchemaName): string => name.replace(/[^A-Za-z0-9]/g, '_');

const loaded = new Map<string, JsonSchema>();

export function loadSchema(name: SchemaName): JsonSchema {
  let s = loaded.get(name);
  if (!s) {
    s = JSON.parse(readFileSync(join(SCHEMA_DIR, name), 'utf8')) as JsonSchema;
    loaded.set(name, s);
  }
  return s;
}
