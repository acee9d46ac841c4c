import { ConfigError } from '../src/errors.js';
import { isTree, merge, type Tree } from '../src/config/tree.js';
import type { RunnerConfigSpec } from '../src/runner.js';

/** The slurm platform: the cube's optional `slurm:` section merged into the runner; the inner platform runs the task. */
export const slurmConfig: RunnerConfigSpec = {
  name: 'slurm',
  section: 'slurm',
  flagKeys: { gpus: '--gpus', mount: '--mount_opts', memory: 'mem' },
  merge(cfg) {
    if (isTree(cfg.slurm)) cfg.runner = merge(cfg.runner as Tree, cfg.slurm);
  },
  validate(cfg) {
    const inner = (cfg.runner as Tree).inner;
    if (inner === 'slurm') {
      throw new ConfigError('slurm.inner is "slurm": a Slurm job cannot submit itself again', {
        suggestions: ['Use the runner that should run the task on the compute node: -Pslurm.inner=singularity (or charliecloud, docker, local).'],
      });
    }
  },
  async create() {
    const { SlurmRunner } = await import('./slurm.js');
    return new SlurmRunner();
  },
};
