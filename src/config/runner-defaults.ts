import { loadSchema, type JsonSchema } from './schemas.js';
import type { Tree } from './tree.js';
import type { RunnerDescription } from '../runner.js';

export function runnerSchema(runner: Pick<RunnerDescription, 'schema'>): JsonSchema {
  return loadSchema(runner.schema);
}

/** Default platform configuration of a runner, derived from its schema (same order show_config prints). */
export function runnerDefaults(runner: Pick<RunnerDescription, 'schema'>): Tree {
  const out: Tree = {};
  for (const [key, prop] of Object.entries<JsonSchema>(runnerSchema(runner).properties ?? {})) {
    if ('default' in prop) out[key] = structuredClone(prop.default);
  }
  return out;
}
