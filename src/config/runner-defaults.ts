import { loadSchema, type SchemaName, type JsonSchema } from './schemas.js';
import type { Tree } from './tree.js';

/** Runner name -> its schema. The schema's `default`s, in property order, are the platform defaults. */
export const RUNNER_SCHEMAS: Record<string, SchemaName> = {
  docker: 'runner-docker.schema.json',
  singularity: 'runner-singularity.schema.json',
  local: 'runner-local.schema.json',
  slurm: 'runner-slurm.schema.json',
  charliecloud: 'runner-charliecloud.schema.json',
};

export function runnerSchema(runner: string): JsonSchema | undefined {
  const name = RUNNER_SCHEMAS[runner];
  return name ? loadSchema(name) : undefined;
}

/** Default platform configuration of a runner, derived from its schema (same order show_config prints). */
export function runnerDefaults(runner: string): Tree {
  const schema = runnerSchema(runner);
  const out: Tree = {};
  if (!schema) return { runner };
  for (const [key, prop] of Object.entries<any>(schema.properties ?? {})) {
    if ('default' in prop) out[key] = structuredClone(prop.default);
  }
  return out;
}
