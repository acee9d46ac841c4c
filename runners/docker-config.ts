import { ConfigError } from '../src/errors.js';
import { isTree, merge, type Tree } from '../src/config/tree.js';
import type { RunnerConfigSpec } from '../src/runner.js';

/** dict -> "-e K=V -e K2=V2", as the Python docker runner's Config.validate renders env_args/build_args (display only). */
export function dictToCli(value: unknown, flag: string): unknown {
  if (!isTree(value)) return value;
  return Object.entries(value)
    .map(([k, v]) => `${flag} ${k}=${v}`)
    .join(' ');
}

export const dockerConfig: RunnerConfigSpec = {
  name: 'docker',
  section: 'docker',
  flagKeys: { network: '--network', security: '--security-opt', gpus: '--gpus', memory: '--memory', cpu: '--cpuset-cpus', mount: '--mount_opts' },
  merge(cfg) {
    if (isTree(cfg.docker)) cfg.runner = merge(cfg.runner as Tree, cfg.docker);
  },
  validate(cfg) {
    const runner = cfg.runner as Tree;
    if (typeof runner.image !== 'string' || runner.image.trim() === '') {
      throw new ConfigError(`docker image is missing or blank (found ${JSON.stringify(runner.image)})`, {
        place: { file: 'mlcube.yaml' },
        suggestions: ['Add `docker: {image: name:tag}` to mlcube.yaml, or pass -Pdocker.image=name:tag.'],
      });
    }
  },
  display(runner) {
    return { ...runner, env_args: dictToCli(runner.env_args, '-e'), build_args: dictToCli(runner.build_args, '--build-arg') };
  },
  async create() {
    const { DockerRunner } = await import('./docker.js');
    return new DockerRunner();
  },
};
