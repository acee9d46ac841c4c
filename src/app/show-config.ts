import { stringify } from 'yaml';
import { buildConfig } from '../config/build.js';
import { RUNNERS } from '../../runners/index.js';
import type { Tree } from '../config/tree.js';
import type { AppEnv } from './context.js';

export interface ShowConfigOptions {
  mlcube?: string;
  platform: string;
  workspace?: string;
  params?: string[];
  taskArgs?: string[];
  resolve: boolean;
}

/** `show_config`: the effective configuration, exactly as the Python MLCube would build it (reference §2.3). */
export function showConfig(opts: ShowConfigOptions, app: AppEnv): Tree {
  const built = buildConfig({ ...opts, cwd: app.cwd, env: app.env, home: app.home }, RUNNERS);
  for (const w of built.warnings) app.log.warn(w);
  const display = built.runner?.display;
  return display ? { ...built.config, runner: display(built.config.runner as Tree) } : built.config;
}

/** YAML as OmegaConf.to_yaml prints it: block style, sequences not indented, single-quoted strings when needed. */
export function toYaml(value: unknown): string {
  return stringify(value, { indentSeq: false, singleQuote: true, lineWidth: 0, nullStr: 'null' });
}
