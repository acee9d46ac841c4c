import { join, isAbsolute } from 'node:path';
import { isTree, merge, type Tree } from '../src/config/tree.js';
import { resolveTree } from '../src/config/interpolate.js';
import type { RunnerConfigSpec } from '../src/runner.js';
import { RuntimeUnavailableError } from '../src/errors.js';

const alnum = (s: string) => s.replace(/[^A-Za-z0-9]/g, '');

function resolved(cfg: Tree, value: unknown): string {
  const probe = resolveTree({ ...cfg, __probe__: value }, { env: process.env }) as Tree;
  return String(probe.__probe__);
}

/** Python SingularityRun.Config.merge (reference §5.1): SIF present, recipe, or fall back to the docker image. */
export const singularityConfig: RunnerConfigSpec = {
  name: 'singularity',
  section: 'singularity',
  flagKeys: { network: '--network', security: '--security', gpus: '--nv', memory: '--vm-ram', cpu: '--vm-cpu', mount: '--mount_opts' },
  merge(cfg, probe) {
    const s: Tree = isTree(cfg.singularity) ? cfg.singularity : {};
    const runner = merge(cfg.runner as Tree, s);
    const root = String((cfg.runtime as Tree).root);
    if (typeof s.image === 'string' && s.image) {
      const sif = join(resolved(cfg, runner.image_dir), s.image);
      if (probe.isFile(sif)) {
        cfg.runner = runner;
        return;
      }
    }
    const recipe = String(s.build_file ?? runner.build_file ?? 'Singularity.recipe');
    const recipeUsable = recipe.startsWith('docker://') || recipe.startsWith('docker-archive:') || probe.isFile(isAbsolute(recipe) ? recipe : join(root, recipe));
    if (recipeUsable) {
      runner.build_file = recipe;
      if (!(typeof s.image === 'string' && s.image)) runner.image = `${alnum(recipe)}.sif`;
      cfg.runner = runner;
      return;
    }
    const docker = cfg.docker;
    if (isTree(docker) && (typeof docker.image === 'string' || typeof docker.tar_file === 'string')) {
      if (typeof docker.tar_file === 'string') runner.build_file = `docker-archive:${docker.tar_file}`;
      else runner.build_file = `docker://${docker.image}`;
      runner.image = `${alnum(String(docker.image ?? docker.tar_file))}.sif`;
    }
    cfg.runner = runner;
  },
  async create() {
    throw new RuntimeUnavailableError('the singularity runner is not available in this build yet (tracked as issue #5)', {
      suggestions: ['Use --platform=local, or the Python MLCube for singularity until issue #5 lands.'],
    });
  },
};
