import { ConfigError } from '../src/errors.js';
import { isTree, merge, type Tree } from '../src/config/tree.js';
import { commonSettings, runnerSection } from '../src/config/runner-settings.js';
import type { RunnerDescription, RunnerSettings } from '../src/runner.js';
import type { BuildStrategy } from './docker-image.js';
import { keyValues, parseBytes, parseExtraArgs, type ExtraArgs } from './docker-spec.js';

/** dict -> "-e K=V -e K2=V2", as the Python docker runner's Config.validate renders env_args/build_args (display only). */
export function dictToCli(value: unknown, flag: string): unknown {
  if (!isTree(value)) return value;
  return Object.entries(value)
    .map(([k, v]) => `${flag} ${k}=${v}`)
    .join(' ');
}

/** The docker runner's settings: its section of the effective configuration, parsed once. */
export interface DockerSettings extends RunnerSettings {
  image: string;
  buildStrategy: BuildStrategy;
  /** build_context, relative to the cube root. */
  buildContext: string;
  /** build_file, relative to the build context. */
  buildFile: string;
  /** build_args as --build-arg NAME=value pairs. */
  buildArgs: Record<string, string>;
  /** env_args as K=V. */
  env: string[];
  /** The docker-run words of cpu_args (no GPUs asked for) or gpu_args, mapped onto the Engine API. */
  extraArgs: ExtraArgs;
  extraArgsKey: 'cpu_args' | 'gpu_args';
  /** host (the invoking user's uid:gid), image (the image's USER) or uid:gid. */
  user: string;
  init: boolean;
  keepContainer: boolean;
  /** --network ('' kept: no network option, not cpu_args' either). */
  network: string | undefined;
  securityOpt: string | undefined;
  /** --memory as given and in bytes. */
  memory: { spec: string; bytes: number } | undefined;
  cpusetCpus: string | undefined;
}

export const dockerRunner: RunnerDescription<DockerSettings> = {
  name: 'docker',
  section: 'docker',
  schema: 'runner-docker.schema.json',
  capabilities: { seesHostPaths: false, batch: false, enforcesReadOnly: true },
  flagKeys: { network: '--network', security: '--security-opt', gpus: '--gpus', memory: '--memory', cpu: '--cpuset-cpus', mount: '--mount_opts' },
  merge(cfg) {
    if (isTree(cfg.docker)) cfg.runner = merge(cfg.runner as Tree, cfg.docker);
  },
  validate(cfg) {
    const runner = cfg.runner as Tree;
    if (typeof runner.image !== 'string' || runner.image.trim() === '') {
      throw new ConfigError(`docker image is missing or blank (found ${JSON.stringify(runner.image)})`, {
        configPath: ['runner', 'image'],
        suggestions: ['Add `docker: {image: name:tag}` to mlcube.yaml, or pass -Pdocker.image=name:tag.'],
      });
    }
  },
  display(runner) {
    return { ...runner, env_args: dictToCli(runner.env_args, '-e'), build_args: dictToCli(runner.build_args, '--build-arg') };
  },
  settings(cfg) {
    const common = commonSettings(cfg, dockerRunner);
    const r = runnerSection(cfg, dockerRunner);
    const stringOrMap = (key: string) => {
      const v = r.values[key];
      if (v !== undefined && v !== null && typeof v !== 'string' && !isTree(v)) r.fail(key, 'a mapping of NAME: value, or a string of -e/--build-arg NAME=value', '{NAME: value}');
      return v;
    };
    const extraArgsKey = common.gpus.kind === 'none' ? 'cpu_args' : 'gpu_args';
    const memory = r.nonEmpty('--memory');
    return {
      ...common,
      image: r.required('image', 'name:tag'),
      buildStrategy: r.oneOf('build_strategy', ['pull', 'auto', 'always', 'never'] as const, 'pull'),
      buildContext: r.str('build_context', '.'),
      buildFile: r.str('build_file', 'Dockerfile'),
      buildArgs: Object.fromEntries(keyValues(stringOrMap('build_args'), '--build-arg').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])),
      env: keyValues(stringOrMap('env_args'), '-e'),
      extraArgs: parseExtraArgs(r.str(extraArgsKey, '')),
      extraArgsKey,
      user: r.str('user', 'host'),
      init: r.bool('init', true),
      keepContainer: r.bool('keep_container', false),
      network: r.str('--network'),
      securityOpt: r.nonEmpty('--security-opt'),
      memory: memory === undefined ? undefined : { spec: memory, bytes: parseBytes(memory, '--memory') },
      cpusetCpus: r.nonEmpty('--cpuset-cpus'),
    };
  },
  async create() {
    const { DockerRunner } = await import('./docker.js');
    return new DockerRunner();
  },
};
