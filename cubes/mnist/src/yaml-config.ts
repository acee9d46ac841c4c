import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { parse } from 'yaml';
import { CubeError, show } from './errors.js';

function describe(err: ErrorObject): { key: string; problem: string; expected: string } {
  const key = err.instancePath ? err.instancePath.slice(1).replace(/\//g, '.') : '(top level)';
  switch (err.keyword) {
    case 'additionalProperties': {
      const extra = (err.params as { additionalProperty: string }).additionalProperty;
      return { key: err.instancePath ? `${key}.${extra}` : extra, problem: 'unknown key', expected: 'one of the keys in the schema' };
    }
    case 'enum':
      return { key, problem: 'value not allowed', expected: `one of ${(err.params as { allowedValues: unknown[] }).allowedValues.map((v) => show(v)).join(', ')}` };
    case 'required':
      return { key: (err.params as { missingProperty: string }).missingProperty, problem: 'missing key', expected: 'the key to be present' };
    default:
      return { key, problem: 'bad value', expected: `a value that ${err.message ?? 'matches the schema'}` };
  }
}

function valueAt(doc: unknown, pointer: string): unknown {
  let v = doc;
  for (const part of pointer.split('/').slice(1)) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
  return v;
}

/**
 * Reads a YAML file and validates it against a JSON schema (defaults filled in).
 * Errors name the file, the key, the value found and what was expected.
 */
export function loadYamlConfig<T>(file: string, schema: object, what: string): T {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CubeError({ place: file, problem: `cannot read the ${what} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, fix: `check the --${what}=... path` });
  }
  let doc: unknown;
  try {
    doc = parse(text) ?? {};
  } catch (err) {
    throw new CubeError({ place: file, problem: `invalid YAML: ${(err as Error).message.split('\n')[0]}`, fix: 'fix the YAML syntax' });
  }
  const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
  const validate = ajv.compile(schema);
  if (!validate(doc)) {
    const errors = (validate.errors ?? []).filter((e) => e.keyword !== 'oneOf' && e.keyword !== 'anyOf' && e.keyword !== 'if');
    const first = errors.find((e) => e.keyword === 'additionalProperties') ?? errors[0] ?? validate.errors![0];
    const d = describe(first);
    const found = first.keyword === 'additionalProperties' || first.keyword === 'required' ? undefined : show(valueAt(doc, first.instancePath));
    const schemaId = (schema as { $id?: string }).$id?.split('/').pop() ?? 'its schema';
    throw new CubeError({ place: `${file}: key "${d.key}"`, problem: d.problem, found, expected: d.expected, fix: `edit ${what}; allowed keys and values are in schemas/${schemaId}` });
  }
  return doc as T;
}
