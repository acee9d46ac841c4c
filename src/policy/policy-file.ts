import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Environment } from '@marcbachmann/cel-js';
import { assertSchema } from '../config/schemas.js';
import { readYamlFile } from '../config/yaml-source.js';
import { ConfigError } from '../errors.js';

/** One rule of a policy, compiled: `check(run)` evaluates its CEL expression. */
export interface PolicyRule {
  name: string;
  require: string;
  message: string | null;
  check: (run: object) => unknown;
}

export interface Policy {
  file: string;
  /** sha256 of the file's bytes: what the run record attests. */
  sha256: string;
  name: string | null;
  rules: PolicyRule[];
}

/** The CEL environment of every policy: one variable, `run` (src/policy/facts.ts); nothing else is defined. */
const ENV = new Environment({ unlistedVariablesAreDyn: false }).registerVariable('run', 'map');

/**
 * Reads, validates (schemas/policy.schema.json) and compiles a policy file (README "Policy gate"). A YAML, schema or
 * CEL syntax error is a located ConfigError (exit 2): a policy that cannot be read denies nothing and allows nothing.
 */
export function loadPolicy(file: string): Policy {
  const src = readYamlFile(file);
  assertSchema('policy.schema.json', src.value, (path, atKey) => src.place(path, atKey), `the policy ${file}`);
  const doc = src.value as { name?: string; rules: { name: string; require: string; message?: string }[] };
  const seen = new Set<string>();
  const rules = doc.rules.map((r, i) => {
    if (seen.has(r.name)) {
      throw new ConfigError(`the policy names two rules "${r.name}"`, { place: src.place(['rules', i, 'name']), suggestions: ['Give every rule its own name.'] });
    }
    seen.add(r.name);
    let check: PolicyRule['check'];
    try {
      check = ENV.parse(r.require);
    } catch (e) {
      throw new ConfigError(`rule "${r.name}": the CEL expression does not parse: ${e instanceof Error ? e.message.split('\n')[0] : String(e)} (in ${JSON.stringify(r.require)})`, {
        place: src.place(['rules', i, 'require']),
        suggestions: ['Write a CEL expression over `run` that is true when the run is allowed, e.g. run.network == "none" (README "Policy gate" lists the fields).'],
      });
    }
    return { name: r.name, require: r.require, message: r.message ?? null, check };
  });
  return { file, sha256: createHash('sha256').update(readFileSync(file)).digest('hex'), name: doc.name ?? null, rules };
}
