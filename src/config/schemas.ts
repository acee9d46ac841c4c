import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PACKAGE_ROOT } from '../package-root.js';
import { createRequire } from 'node:module';
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv';
import { ConfigError, type ErrorPlace } from '../errors.js';

export const SCHEMA_DIR = join(PACKAGE_ROOT, 'schemas');
/** Written by the build (compile-schemas.ts). */
export const PRECOMPILED_VALIDATORS = join(PACKAGE_ROOT, 'dist', 'validators.generated.js');

export const SCHEMA_FILES = [
  'mlcube.schema.json',
  'runner-docker.schema.json',
  'runner-singularity.schema.json',
  'runner-charliecloud.schema.json',
  'runner-local.schema.json',
  'runner-slurm.schema.json',
  'settings.schema.json',
  'metric-row.schema.json',
  'run-record.schema.json',
] as const;

export type SchemaName = (typeof SCHEMA_FILES)[number];
export type JsonSchema = Record<string, any>;

export const AJV_OPTIONS = { allErrors: true, verbose: true, strict: true, strictTypes: false, allowUnionTypes: true } as const;

/** Validators precompiled at build time (see compile-schemas.ts); only a missing file (partial build) falls back to ajv. */
const precompiled: Record<string, ValidateFunction> | undefined = await import(pathToFileURL(PRECOMPILED_VALIDATORS).href).catch((e: NodeJS.ErrnoException) => {
  if (e.code === 'ERR_MODULE_NOT_FOUND') return undefined;
  throw e;
});

let ajv: Ajv | undefined;
const loaded = new Map<string, JsonSchema>();
const compiled = new Map<string, ValidateFunction>();

export function loadSchema(name: SchemaName): JsonSchema {
  let s = loaded.get(name);
  if (!s) {
    s = JSON.parse(readFileSync(join(SCHEMA_DIR, name), 'utf8')) as JsonSchema;
    loaded.set(name, s);
  }
  return s;
}

function validator(name: SchemaName): ValidateFunction {
  let v = compiled.get(name);
  if (!v && precompiled) v = precompiled[name.replace(/[^A-Za-z0-9]/g, '_')];
  if (!v) {
    if (!ajv) {
      // Loaded only when no precompiled validator exists (keeps the ajv compiler off the start-up path).
      const AjvClass = (createRequire(import.meta.url)('ajv') as { default: typeof Ajv }).default;
      ajv = new AjvClass(AJV_OPTIONS);
      for (const f of SCHEMA_FILES) ajv.addSchema(loadSchema(f), f);
    }
    v = ajv.getSchema(name)!;
    compiled.set(name, v);
  }
  return v;
}

export interface SchemaProblem {
  path: string[];
  message: string;
  /** The problem is the key itself (an unknown key), not its value. */
  atKey?: boolean;
}

/** Validates `value`; returns every problem (allErrors), most specific first, anyOf noise removed. */
export function checkSchema(name: SchemaName, value: unknown): SchemaProblem[] {
  const v = validator(name);
  if (v(value)) return [];
  return simplify(v.errors ?? [], value);
}

/** Throws one ConfigError listing every problem, each with its own file:line:col. */
export function assertSchema(name: SchemaName, value: unknown, placeOf: (path: string[], atKey?: boolean) => ErrorPlace, what: string): void {
  const problems = checkSchema(name, value);
  if (problems.length === 0) return;
  const lines = problems.map((p) => {
    const place = placeOf(p.path, p.atKey);
    const where = place.file ? `${place.file}${place.line ? `:${place.line}:${place.col}` : ''}` : what;
    return `${where} ${pointer(p.path)} ${p.message}`;
  });
  const first = placeOf(problems[0].path, problems[0].atKey);
  throw new ConfigError(
    problems.length === 1 ? `${what} breaks the schema: ${pointer(problems[0].path)} ${problems[0].message}` : `${what} breaks the schema in ${problems.length} places:\n  ${lines.join('\n  ')}`,
    { place: first, suggestions: [`Correct the value(s) as described; the keys are documented in schemas/${name}.`] },
  );
}

const pointer = (path: string[]) => (path.length ? `/${path.join('/')}` : 'the top level');

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return `a list (${JSON.stringify(v).slice(0, 60)})`;
  if (v === null) return 'null';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function valueAt(root: unknown, path: string[]): unknown {
  let cur: any = root;
  for (const p of path) cur = cur?.[p];
  return cur;
}

function simplify(errors: ErrorObject[], root: unknown): SchemaProblem[] {
  // anyOf failures report each branch; keep the branch error that went deepest, else one summary line.
  const byPath = new Map<string, ErrorObject[]>();
  for (const e of errors) {
    const list = byPath.get(e.instancePath) ?? [];
    list.push(e);
    byPath.set(e.instancePath, list);
  }
  const out: SchemaProblem[] = [];
  const paths = [...byPath.keys()].sort((a, b) => b.length - a.length);
  const covered: string[] = [];
  for (const p of paths) {
    // A deeper error explains a failed anyOf/type here; keep only errors of another kind (required, unknown keys).
    const deeper = covered.some((c) => c.startsWith(p + '/'));
    const errs = byPath.get(p)!.filter((e) => !deeper || !['anyOf', 'type', 'oneOf'].includes(e.keyword));
    if (errs.length === 0) continue;
    const path = p.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    const found = describeValue(valueAt(root, path));
    const messages = new Set<string>();
    for (const e of errs) {
      if (e.keyword === 'anyOf') continue;
      if (e.keyword === 'enum') messages.add(`must be one of ${(e.params as any).allowedValues.map((x: unknown) => JSON.stringify(x)).join(', ')}`);
      else if (e.keyword === 'additionalProperties') {
        const extra = (e.params as any).additionalProperty;
        out.push({ path: [...path, extra], message: `is not a known key here (allowed: ${allowedKeys(e)})`, atKey: true });
        covered.push(p + '/' + extra);
        continue;
      } else if (e.keyword === 'required') {
        messages.add(`is missing the required key "${(e.params as any).missingProperty}"`);
        continue;
      } else if (e.keyword === 'type') messages.add(`must be ${String((e.params as any).type).replace(/,/g, ' or ')}`);
      else messages.add(e.message ?? e.keyword);
    }
    const foundNote = errs.every((e) => e.keyword === 'required') ? '' : ` (found ${found})`;
    if (messages.size) out.push({ path, message: `${[...messages].join(', or ')}${foundNote}` });
    covered.push(p);
  }
  return out;
}

function allowedKeys(e: ErrorObject): string {
  const props = (e.parentSchema as any)?.properties;
  return props ? Object.keys(props).join(', ') : 'none';
}
