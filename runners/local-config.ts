import { resolve } from 'node:path';
import { isTree, merge, type Tree } from '../src/config/tree.js';
import { commonSettings, runnerSection, runtimePaths } from '../src/config/runner-settings.js';
import type { RunnerDescription, RunnerSettings } from '../src/runner.js';

/** The local runner's settings: its section of the effective configuration, parsed once. */
export interface LocalSettings extends RunnerSettings {
  /** local.command as argv words; undefined: not set (only tasks with their own entrypoint can run). */
  command: string[] | undefined;
  /** The task's working directory (local.workdir, resolved against the cube root). */
  workdir: string;
  env: Record<string, string>;
}

export const localRunner: RunnerDescription<LocalSettings> = {
  name: 'local',
  section: 'local',
  schema: 'runner-local.schema.json',
  capabilities: { seesHostPaths: true, batch: false, enforcesReadOnly: false },
  flagKeys: { gpus: '--gpus', mount: '--mount_opts' },
  merge(cfg) {
    if (isTree(cfg.local)) cfg.runner = merge(cfg.runner as Tree, cfg.local);
  },
  settings(cfg) {
    const r = runnerSection(cfg, localRunner);
    return {
      ...commonSettings(cfg, localRunner),
      command: r.command('command'),
      workdir: resolve(runtimePaths(cfg).root, r.str('workdir', '.')),
      env: r.env('env_args'),
    };
  },
  async create() {
    const { LocalRunner } = await import('./local.js');
    return new LocalRunner();
  },
};
