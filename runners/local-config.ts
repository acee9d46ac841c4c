import { isTree, merge, type Tree } from '../src/config/tree.js';
import type { RunnerConfigSpec } from '../src/runner.js';

export const localConfig: RunnerConfigSpec = {
  name: 'local',
  section: 'local',
  flagKeys: { gpus: '--gpus', mount: '--mount_opts' },
  merge(cfg) {
    if (isTree(cfg.local)) cfg.runner = merge(cfg.runner as Tree, cfg.local);
  },
  async create() {
    const { LocalRunner } = await import('./local.js');
    return new LocalRunner();
  },
};
