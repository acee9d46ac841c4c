import { join, isAbsolute } from 'node:path';
import { isTree, merge, type Tree } from '../src/config/tree.js';
import { resolveTree } from '../src/config/interpolate.js';
import { commonSettings, runnerSection } from '../src/config/runner-settings.js';
import type { RunnerDescription, RunnerSettings } from '../src/runner.js';

const alnum = (s: string) => s.replace(/[^A-Za-z0-9]/g, '');

function resolved(cfg: Tree, value: unknown): string {
  const probe = resolveTree({ ...cfg, __probe__: value }, { env: process.env }) as Tree;
  return String(probe.__probe__);
}

/** The singularity runner's settings: its section of the effective configuration, parsed once. */
export interface SingularitySettings extends RunnerSettings {
  /** The executable as configured (`singularity`, `apptainer`, `sudo singularity`, a path). */
  executable: string;
  /** The SIF's file name in imageDir. */
  image: string;
  /** Where the SIF lives (relative to the cube root when relative); undefined: <root>/workspace/.image. */
  imageDir: string | undefined;
  /** What configure builds from (a definition file or a URI). */
  buildFile: string;
  buildArgs: string[];
  rebuild: boolean;
  runArgs: string[];
  /** Options from the command line (--network, --security, --memory, --cpu), when given. */
  network: string | undefined;
  security: string | undefined;
  vmRam: string | undefined;
  vmCpu: string | undefined;
  containall: boolean;
  cleanenv: boolean;
  /** env_args as K=V. */
  env: string[];
}

/**
 * Python SingularityRun.Config.merge (reference §5.1): SIF present, recipe (or docker://, docker-daemon:,
 * docker-archive: source), or fall back to the docker image.
 */
export const singularityRunner: RunnerDescription<SingularitySettings> = {
  name: 'singularity',
  section: 'singularity',
  schema: 'runner-singularity.schema.json',
  capabilities: { seesHostPaths: false, batch: false, enforcesReadOnly: true },
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
  settings(cfg) {
    const r = runnerSection(cfg, singularityRunner);
    return {
      ...commonSettings(cfg, singularityRunner),
      executable: r.str('singularity', 'singularity'),
      image: r.required('image', 'cube.sif'),
      imageDir: r.str('image_dir'),
      buildFile: r.str('build_file', 'Singularity.recipe'),
      buildArgs: r.words('build_args'),
      rebuild: r.bool('rebuild', false),
      runArgs: r.words('run_args'),
      network: r.nonEmpty('--network'),
      security: r.nonEmpty('--security'),
      vmRam: r.nonEmpty('--vm-ram'),
      vmCpu: r.nonEmpty('--vm-cpu'),
      containall: r.bool('containall', false),
      cleanenv: r.bool('cleanenv', false),
      env: Object.entries(r.env('env_args')).map(([k, v]) => `${k}=${v}`),
    };
  },
  async create(settings) {
    const { SingularityRunner } = await import('./singularity.js');
    return new SingularityRunner({ executable: settings?.executable });
  },
};
