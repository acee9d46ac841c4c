import { parse as parseYamlScalar } from 'yaml';
import { UsageError } from '../errors.js';
import { YAML_11 } from './yaml-schema.js';
import { merge, nest, type Tree } from './tree.js';

export interface ParamOverride {
  /** Dotted key path, e.g. docker.image. */
  key: string[];
  value: unknown;
  /** The text as typed, for error messages. */
  raw: string;
}

/** Parses `-P key.path=value` values; the value is read as YAML (30 -> int), as OmegaConf.from_dotlist does. */
export function parseParamOverrides(items: readonly string[]): ParamOverride[] {
  return items.map((raw) => {
    const eq = raw.indexOf('=');
    if (eq <= 0) {
      throw new UsageError(`-P "${raw}" is not KEY=VALUE`, { suggestions: ['Write -Pdocker.image=name:tag (dotted key, "=", value).'] });
    }
    const key = raw.slice(0, eq).trim().split('.');
    if (key.some((k) => k === '')) {
      throw new UsageError(`-P "${raw}" has an empty key segment`, { suggestions: ['Use a dotted path such as -Pplatform.accelerator_count=1.'] });
    }
    if (key.includes('__proto__')) {
      throw new UsageError(`-P "${raw}": the key "__proto__" is not allowed`, { suggestions: ['Name a real key of the cube or the platform, e.g. -Pdocker.image=name:tag.'] });
    }
    const text = raw.slice(eq + 1);
    let value: unknown;
    try {
      value = text === '' ? '' : parseYamlScalar(text, YAML_11);
    } catch {
      value = text;
    }
    return { key, value, raw };
  });
}

export function overridesTree(overrides: readonly ParamOverride[]): Tree {
  return merge({}, ...overrides.map((o) => nest(o.key, o.value)));
}

/**
 * Task-parameter overrides: `name=value` (Python form) and `--name=value` (accepted here; Python ignores it
 * silently, medperf#489). Returns name -> value in command-line order.
 */
export function parseTaskArgs(args: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const arg of args) {
    const m = /^(?:--)?([^=\s-][^=\s]*)=(.*)$/s.exec(arg);
    if (!m) {
      throw new UsageError(`unexpected argument "${arg}"`, {
        suggestions: ['Task parameter overrides are name=value or --name=value (e.g. data_dir=/data/mnist); config overrides are -Pkey.path=value.'],
      });
    }
    if (m[1] === '__proto__') {
      throw new UsageError(`task override "${arg}": "__proto__" is no parameter name`, { suggestions: ['Name a parameter of the task, e.g. data_dir=/data/mnist.'] });
    }
    out.set(m[1], m[2]);
  }
  return out;
}
