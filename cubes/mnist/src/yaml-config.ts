import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { isMap, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { CubeError, show } from './errors.js';

/** A problem the schema cannot express (a rule across keys), found after validation: the key path and the facts. */
export interface ConfigIssue {
  path: string[];
  problem: string;
  expected: string;
  fix: string;
}

function describe(err: ErrorObject): { key: string; problem: string; expected: string; path: string[] } {
  const parts = err.instancePath ? err.instancePath.slice(1).split('/') : [];
  const key = parts.length ? parts.join('.') : '(top level)';
  const under = (k: string) => ({ key: [...parts, k].join('.'), path: [...parts, k] });
  switch (err.keyword) {
    case 'additionalProperties': {
      const extra = (err.params as { additionalProperty: string }).additionalProperty;
      return { ...under(extra), problem: 'unknown key', expected: 'one of the keys in the schema' };
    }
    case 'enum':
      return { key, path: parts, problem: 'value not allowed', expected: `one of ${(err.params as { allowedValues: unknown[] }).allowedValues.map((v) => show(v)).join(', ')}` };
    case 'required':
      return { ...under((err.params as { missingProperty: string }).missingProperty), problem: 'missing key', expected: 'the key to be present' };
    case 'discriminator': {
      // A tagged choice (e.g. lr_schedule.type): list the tags its branches accept.
      const tag = (err.params as { tag: string }).tag;
      const branches = ((err.parentSchema as { oneOf?: Array<{ properties?: Record<string, { const?: unknown }> }> }).oneOf ?? []).map((b) => b.properties?.[tag]?.const);
      const missing = (err.data as Record<string, unknown> | null)?.[tag] === undefined;
      return { ...under(tag), problem: missing ? 'missing key' : 'value not allowed', expected: `one of ${branches.map((v) => show(v)).join(', ')}` };
    }
    default:
      return { key, path: parts, problem: 'bad value', expected: `a value that ${err.message ?? 'matches the schema'}` };
  }
}

function valueAt(doc: unknown, path: string[]): unknown {
  let v = doc;
  for (const part of path) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
  return v;
}

/** `line:col` of the deepest key of `path` the file has (a missing key: the map that lacks it; 1:1 for the top level). */
function lineCol(doc: Document, lines: LineCounter, path: string[]): string {
  let node: unknown = doc.contents;
  let at = 0;
  for (const part of path) {
    if (isSeq(node)) {
      // A list item (e.g. model.layers.2): its own position, then on into it.
      const item = node.items[Number(part)] as { range?: [number, number, number] } | undefined;
      if (!item) break;
      at = item.range?.[0] ?? at;
      node = item;
      continue;
    }
    if (!isMap(node)) break;
    const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === part);
    if (!pair) break;
    at = (pair.key as { range?: [number, number, number] }).range?.[0] ?? at;
    node = pair.value;
  }
  const { line, col } = lines.linePos(at);
  return `${line}:${col}`;
}

/**
 * Reads a YAML file and validates it against a JSON schema (defaults filled in), then runs `check` for the rules
 * across keys. Errors name the file, line and column, the key, the value found and what was expected.
 */
export function loadYamlConfig<T>(file: string, schema: object, what: string, check?: (config: T) => ConfigIssue | undefined): T {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CubeError({ place: file, problem: `cannot read the ${what} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, fix: `check the --${what}=... path` });
  }
  const lines = new LineCounter();
  const parsed = parseDocument(text, { lineCounter: lines });
  if (parsed.errors.length) {
    const e = parsed.errors[0];
    const { line, col } = lines.linePos(e.pos[0]);
    throw new CubeError({ place: `${file}:${line}:${col}`, problem: `invalid YAML: ${e.message.split('\n')[0]}`, fix: 'fix the YAML syntax' });
  }
  const doc: unknown = parsed.toJS() ?? {};
  const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, discriminator: true, verbose: true });
  const validate = ajv.compile(schema);
  const schemaId = (schema as { $id?: string }).$id?.split('/').pop() ?? 'its schema';
  if (!validate(doc)) {
    const errors = (validate.errors ?? []).filter((e) => e.keyword !== 'oneOf' && e.keyword !== 'anyOf' && e.keyword !== 'if');
    const first = errors.find((e) => e.keyword === 'additionalProperties') ?? errors[0] ?? validate.errors![0];
    const d = describe(first);
    const found = first.keyword === 'additionalProperties' || first.keyword === 'required' ? undefined : show(valueAt(doc, d.path));
    throw new CubeError({
      place: `${file}:${lineCol(parsed, lines, d.path)}: key "${d.key}"`,
      problem: d.problem,
      found,
      expected: d.expected,
      fix: `edit ${what}; allowed keys and values are in schemas/${schemaId}`,
    });
  }
  const issue = check?.(doc as T);
  if (issue) {
    throw new CubeError({
      place: `${file}:${lineCol(parsed, lines, issue.path)}: key "${issue.path.join('.')}"`,
      problem: issue.problem,
      found: show(valueAt(doc, issue.path)),
      expected: issue.expected,
      fix: issue.fix,
    });
  }
  return doc as T;
}
