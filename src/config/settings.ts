import { homedir } from 'node:os';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { readYamlFile, YamlSource } from './yaml-source.js';
import { assertSchema } from './schemas.js';
import { isTree, type Tree } from './tree.js';
import { runnerDefaults } from './runner-defaults.js';
import type { RunnerDescription } from '../runner.js';

export interface SystemSettings {
  file: string;
  exists: boolean;
  data: Tree;
  source?: YamlSource;
}

/** $MLCUBE_SYSTEM_SETTINGS, else ~/mlcube.yaml (no leading dot, as the Python MLCube). */
export function settingsPath(env: Record<string, string | undefined>, home = homedir()): string {
  return env.MLCUBE_SYSTEM_SETTINGS || join(home, 'mlcube.yaml');
}

/** Reads the settings file if present. Unlike the Python MLCube, reading never writes the file. */
export function loadSettings(file: string): SystemSettings {
  if (!existsSync(file)) return { file, exists: false, data: { runners: {}, platforms: {}, storage: {} } };
  const source = readYamlFile(file);
  const data = isTree(source.value) ? source.value : {};
  assertSchema('settings.schema.json', data, (p) => source.place(p), 'system settings file');
  for (const k of ['runners', 'platforms', 'storage']) if (!isTree(data[k])) data[k] = {};
  return { file, exists: true, data, source };
}

/** Built-in platforms: one per runner (runners/index.ts RUNNERS), named after it, with the runner's defaults. */
export function builtinPlatforms(runners: readonly RunnerDescription[]): Tree {
  const out: Tree = {};
  for (const r of runners) out[r.name] = runnerDefaults(r);
  return out;
}

/** All platforms a user can name: the settings file's, then built-in ones it does not redefine. */
export function allPlatforms(settings: SystemSettings, runners: readonly RunnerDescription[]): Tree {
  return { ...builtinPlatforms(runners), ...(settings.data.platforms as Tree) };
}

export function platformConfig(settings: SystemSettings, name: string, runners: readonly RunnerDescription[]): Tree {
  const platforms = allPlatforms(settings, runners);
  const p = platforms[name];
  if (!isTree(p)) {
    throw new ConfigError(`unknown platform "${name}" (known: ${Object.keys(platforms).join(', ')})`, {
      place: settings.source?.holds(['platforms', name]) ? settings.source.place(['platforms', name]) : { file: settings.file },
      suggestions: [`Use one of the known platforms, or create it: mlcube config --create-platform <runner> ${name}`],
    });
  }
  return structuredClone(p);
}
