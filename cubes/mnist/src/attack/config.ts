import { type ConfigIssue, loadYamlConfig } from '../yaml-config.js';
import { ATTACK_CONFIG_SCHEMA, type AttackConfig } from './schema.js';

/** The PGD steps when attack_config gives none. */
export const PGD_STEPS = 10;

/** The rules across keys that the schema does not state: the pgd keys only with attack: pgd. */
export function checkAttackConfig(c: AttackConfig): ConfigIssue | undefined {
  if (c.attack !== 'pgd') {
    const key = (['steps', 'step_size', 'random_start'] as const).find((k) => c[k] !== undefined);
    if (key) return { path: [key], problem: `${key} has no effect with attack ${c.attack}`, expected: 'attack: pgd, or no ' + key, fix: `set attack: pgd or remove ${key}` };
  }
  return undefined;
}

/** Reads and validates attack.yaml (located errors) and fills in the defaults of pgd. */
export function readAttackConfig(file: string): AttackConfig {
  const c = loadYamlConfig<AttackConfig>(file, ATTACK_CONFIG_SCHEMA, 'attack_config', checkAttackConfig);
  return c.attack === 'pgd' ? { ...c, steps: c.steps ?? PGD_STEPS, random_start: c.random_start ?? false } : c;
}

/** The step size of pgd for one eps: the configured one, else 2.5 * eps / steps (Madry et al.'s choice). */
export function pgdStepSize(c: AttackConfig, eps: number): number {
  return c.step_size ?? (2.5 * eps) / (c.steps ?? PGD_STEPS);
}
