import { isTree, merge, type Tree } from '../src/config/tree.js';
import { commonSettings, runnerSection, runtimePaths } from '../src/config/runner-settings.js';
import type { RunnerDescription, RunnerSettings } from '../src/runner.js';
import { sourceOf, words, type ImageSource } from './charliecloud-spec.js';

/** The charliecloud runner's settings: its section of the effective configuration, parsed once. */
export interface CharliecloudSettings extends RunnerSettings {
  source: ImageSource;
  /** The image's name in imageDir; undefined: derived from the source. */
  image: string | undefined;
  /** Where the image lives (relative to the cube root when relative); undefined: <root>/workspace/.image. */
  imageDir: string | undefined;
  format: 'dir' | 'squash';
  rebuild: boolean;
  nvidia: boolean;
  /** ch-run and ch-convert as argv words. */
  chRun: string[];
  chConvert: string[];
  /** What receives `<task> --param=...`; undefined: the image's ENTRYPOINT. */
  entrypoint: string[] | undefined;
  /** ch-run -c; undefined: the image's WORKDIR, else /. */
  workdir: string | undefined;
  runArgs: string[];
  env: Record<string, string>;
  passEnv: string[];
}

/**
 * The charliecloud platform: the cube's `charliecloud:` section merged into the runner; with no `source`, the
 * image is converted from the cube's Docker image (`docker:<docker.image>`), as singularity falls back to docker://.
 */
export const charliecloudRunner: RunnerDescription<CharliecloudSettings> = {
  name: 'charliecloud',
  section: 'charliecloud',
  schema: 'runner-charliecloud.schema.json',
  capabilities: { seesHostPaths: false, batch: false, enforcesReadOnly: false },
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
    const source = (cfg.runner as Tree).source;
    // Throws the explained ConfigError when there is nothing to convert (an unresolved ${...} is checked after resolution).
    if (!String(source ?? '').includes('${')) sourceOf(typeof source === 'string' ? source : undefined, String((cfg.runtime as Tree).root));
  },
  settings(cfg) {
    const r = runnerSection(cfg, charliecloudRunner);
    return {
      ...commonSettings(cfg, charliecloudRunner),
      source: sourceOf(r.str('source'), runtimePaths(cfg).root),
      image: r.nonEmpty('image'),
      imageDir: r.str('image_dir'),
      format: r.oneOf('image_format', ['dir', 'squash'] as const, 'dir'),
      rebuild: r.bool('rebuild', false),
      nvidia: r.bool('nvidia', false),
      chRun: words(r.str('ch_run'), 'ch-run', 'ch_run'),
      chConvert: words(r.str('ch_convert'), 'ch-convert', 'ch_convert'),
      entrypoint: r.command('entrypoint'),
      workdir: r.nonEmpty('workdir'),
      runArgs: r.words('run_args'),
      env: r.env('env_args'),
      passEnv: r.list('pass_env'),
    };
  },
  async create(settings) {
    const { CharliecloudRunner } = await import('./charliecloud.js');
    return new CharliecloudRunner({ chRun: settings?.chRun, chConvert: settings?.chConvert });
  },
};
