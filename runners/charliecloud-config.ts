import { isTree, merge, type Tree } from '../src/config/tree.js';
import type { RunnerConfigSpec } from '../src/runner.js';
import { sourceOf } from './charliecloud-spec.js';

/**
 * The charliecloud platform: the cube's `charliecloud:` section merged into the runner; with no `source`, the
 * image is converted from the cube's Docker image (`docker:<docker.image>`), as singularity falls back to docker://.
 */
export const charliecloudConfig: RunnerConfigSpec = {
  name: 'charliecloud',
  section: 'charliecloud',
  // ch-run has no network/security/memory/cpu options: those flags are rejected for this runner.
  flagKeys: { gpus: '--gpus', mount: '--mount_opts' },
  merge(cfg) {
    const runner = isTree(cfg.charliecloud) ? merge(cfg.runner as Tree, cfg.charliecloud) : (cfg.runner as Tree);
    if (runner.source === null || runner.source === undefined || String(runner.source).trim() === '') {
      const docker = cfg.docker;
      if (isTree(docker) && typeof docker.image === 'string' && docker.image.trim() !== '') runner.source = `docker:${docker.image}`;
    }
    cfg.runner = runner;
  },
  validate(cfg) {
    const runner = cfg.runner as Tree;
    // Throws the explained ConfigError when there is nothing to convert (an unresolved ${...} is checked after resolution).
    if (!String(runner.source ?? '').includes('${')) sourceOf(runner, String((cfg.runtime as Tree).root));
  },
  async create(config) {
    const { CharliecloudRunner } = await import('./charliecloud.js');
    const runner = config && isTree(config.runner) ? config.runner : {};
    return new CharliecloudRunner({ chRun: typeof runner.ch_run === 'string' ? runner.ch_run : undefined, chConvert: typeof runner.ch_convert === 'string' ? runner.ch_convert : undefined });
  },
};
