import type { ValidateFunction, ErrorObject } from 'ajv';
// Standalone validators compiled from schemas/ at build time (src/build/compile-schemas.ts; package.json "imports"):
// a CLI start neither loads nor runs the ajv compiler, and the bundle carries them with its code cache.
import precompiled from '#validators';
import { ConfigError, type ErrorPlace } from '../errors.js';
import { validatorExportName, type JsonSchema, type SchemaName } from './schema-files.js';

export { loadSchema, SCHEMA_FILES, SCHEMA_DIR, type SchemaName, type JsonSchema } from './schema-files.js';

function validator(name: SchemaName): ValidateFunction {
  const v = precompiled[validatorExportName(name)];
  // A runner schema the build did not compile (its runner not in runners/index.ts): nothing would be validated.
  if (typeof v !== 'function') throw new Error(`internal: no precompiled validator for schemas/${name} (rebuild: npm run build)`);
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
  let cur = root;
  for (const p of path) cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[p] : undefined;
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
    const path = p
      .split('/')
      .slice(1)
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    const found = describeValue(valueAt(root, path));
    const messages = new Set<string>();
    for (const e of errs) {
      if (e.keyword === 'anyOf') continue;
      if (e.keyword === 'enum') messages.add(`must be one of ${(e.params.allowedValues as unknown[]).map((x) => JSON.stringify(x)).join(', ')}`);
      else if (e.keyword === 'additionalProperties') {
        const extra = String(e.params.additionalProperty);
        out.push({ path: [...path, extra], message: `is not a known key here (allowed: ${allowedKeys(e)})`, atKey: true });
        covered.push(p + '/' + extra);
        continue;
      } else if (e.keyword === 'required') {
        messages.add(`is missing the required key "${e.params.missingProperty}"`);
        continue;
      } else if (e.keyword === 'type') messages.add(`must be ${String(e.params.type).replace(/,/g, ' or ')}`);
      else messages.add(e.message ?? e.keyword);
    }
    const foundNote = errs.every((e) => e.keyword === 'required') ? '' : ` (found ${found})`;
    if (messages.size) out.push({ path, message: `${[...messages].join(', or ')}${foundNote}` });
    covered.push(p);
  }
  return out;
}

function allowedKeys(e: ErrorObject): string {
  const props = (e.parentSchema as JsonSchema | undefined)?.properties;
  return props ? Object.keys(props).join(', ') : 'none';
}
