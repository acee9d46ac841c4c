import { join, isAbsolute } from 'node:path';
import { isTree, merge, type Tree } from '../src/config/tree.js';
import { resolveTree } from '../src/config/interpolate.js';
import type { RunnerConfigSpec } from '../src/runner.js';

const alnum = (s: string) => s.replace(/[^A-Za-z0-9]/g, '');

function resolved(cfg: Tree, value: unknown): string {
  const probe = resolveTree({ ...cfg, __probe__: value }, { env: process.env }) as Tree;
  return String(probe.__probe__);
}

/**
 * Python SingularityRun.Config.merge (reference §5.1): SIF present, recipe (or docker://, docker-daemon:,
 * docker-archive: source), or fall back to the docker image.
 */
export const singularityConfig: RunnerConfigSpec = {
  name: 'singularity',
  section: 'singularity',
  flagKeys: { network: '--network', security: '--security', gpus: '--nv', memory: '--vm-ram', cpu: '--vm-cpu', mount: '--mount_opts' },
  merge(cfg, probe) {
    // A non-empty cube section is edited in place (show_config prints the edit, as Python does); an empty one is not.
    const s: Tree = isTree(cfg.singularity) && Object.keys(cfg.singularity).length > 0 ? cfg.singularity : {};
    const runner = cfg.runner as Tree;
    const root = String((cfg.runtime as Tree).root);
    const finish = () => {
      cfg.runner = merge(runner, s);
    };
    if ('image' in s) {
      const dir = resolved(cfg, 'image_dir' in s ? s.image_dir : runner.image_dir);
      if (probe.isFile(join(dir, String(s.image)))) return finish();
    }
    const recipe = String('build_file' in s ? s.build_file : runner.build_file);
    if (recipe.startsWith('docker://') || recipe.startsWith('docker-archive:') || recipe.startsWith('docker-daemon:') || probe.isFile(isAbsolute(recipe) ? recipe : join(root, recipe))) {
      if (!('image' in s)) s.image = `${alnum(recipe)}.sif`;
      return finish();
    }
    const docker = cfg.docker;
    if (!isTree(docker) || Object.keys(docker).length === 0) return finish();
    s.image = `${alnum(String(docker.image))}.sif`;
    s.build_file = 'tar_file' in docker ? `docker-archive:${docker.tar_file}` : `docker://${docker.image}`;
    finish();
  },
  async create(config) {
    const { SingularityRunner } = await import('./singularity.js');
    const runner = config && isTree(config.runner) ? config.runner : {};
    return new SingularityRunner({ executable: typeof runner.singularity === 'string' ? runner.singularity : undefined });
  },
};
