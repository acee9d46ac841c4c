import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { ConfigError, ImageError, ParameterError } from '../src/errors.js';
import { checkExtraBinds, emptyDirOf, extraBindSources, planMounts, type ContainerHost, type Cover, type ScratchLayout } from '../src/params/mounts.js';
import { cudaVisibleDevices, describeGpus, type GpuRequest } from '../src/params/gpus.js';
import type { ResolvedTask } from '../src/params/resolve.js';
import { splitCommand } from '../src/params/split-command.js';
import { METRICS_ENV, METRICS_FILE_NAME, METRICS_MOUNT } from '../src/runner.js';
import type { CharliecloudSettings } from './charliecloud-config.js';

/** PATH given to a task whose image environment has none (Docker's default). */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** /mlcube_io0 .. /mlcube_io<N-1> are created in every converted image (ch-run 0.31 binds only onto existing directories). */
export const MOUNT_POINTS = 32;

/** What configure records beside the image (`<image>.mlcube.json`): what ch-run does not keep from a Docker image. */
export interface ImageMeta {
  source: string;
  format: 'dir' | 'squash';
  /** Docker image id (sha256:...) when converted from the Docker daemon. */
  image_id?: string;
  entrypoint?: string[];
  cmd?: string[];
  workdir?: string;
  env?: string[];
  /** How many /mlcube_io<k> mount points the image has. */
  mount_points?: number;
  /** The image has the /mlcube_metrics mount point (converted by a version that creates it). */
  metrics_mount?: boolean;
  nvidia?: boolean;
  created?: string;
}

export type SourceKind = 'docker' | 'ch-image' | 'tar';

/** The configured executable as argv words (never a shell string). */
export function words(value: string | undefined, fallback: string, key: string): string[] {
  const w = splitCommand(value ?? fallback, `charliecloud.${key}`);
  if (w.length === 0) {
    throw new ConfigError(`charliecloud.${key} (the executable) is empty`, {
      configPath: ['runner', key],
      suggestions: [`Set it to ${fallback} or an absolute path, e.g. -Pcharliecloud.${key}=/usr/bin/${fallback}.`],
    });
  }
  return w;
}

/** What configure converts: `docker:IMAGE`, `ch-image:REF`, `tar:FILE` (`ref` absolute). */
export interface ImageSource {
  kind: SourceKind;
  ref: string;
  text: string;
}

/** `docker:IMAGE`, `ch-image:REF`, `tar:FILE` (relative to the cube root). */
export function sourceOf(source: string | null | undefined, root: string): ImageSource {
  const text = (source ?? '').trim();
  const m = /^(docker|ch-image|tar):(.+)$/.exec(text);
  if (!m) {
    throw new ConfigError(
      text ? `charliecloud.source is "${text}", which is not docker:IMAGE, ch-image:REF or tar:FILE` : 'charliecloud.source is not set and the cube has no docker image to convert',
      {
        configPath: ['runner', 'source'],
        suggestions: [
          'Set the image source, e.g. -Pcharliecloud.source=docker:me/cube:1.0 (local Docker daemon), ch-image:me/cube (ch-image storage) or tar:image.tar.gz; or add `docker: {image: ...}` to mlcube.yaml.',
        ],
      },
    );
  }
  const kind = m[1] as SourceKind;
  const ref = kind === 'tar' && !isAbsolute(m[2]) ? resolve(root, m[2]) : m[2];
  return { kind, ref, text };
}

/** image_dir/image; image unset -> a readable name from the source (`docker:me/cube:1` -> `me-cube-1`, `.sqfs` for squash). */
export function imagePath(s: Pick<CharliecloudSettings, 'imageDir' | 'image' | 'source' | 'format'>, root: string): string {
  const dir = resolve(root, s.imageDir ?? join(root, 'workspace', '.image'));
  let name = s.image ?? '';
  if (!name) {
    const src = s.source.text;
    name = src.startsWith('tar:') ? basename(src.slice(4)).replace(/\.(tar(\.\w+)?|tgz)$/, '') : src.replace(/^(docker|ch-image):/, '');
    name = name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '') || 'image';
    if (s.format === 'squash') name += '.sqfs';
  }
  return join(dir, name);
}

/** The metadata file beside an image. */
export const metaPath = (image: string) => `${image}.mlcube.json`;

/** Temporary names beside the target: an interrupted conversion never leaves something a later run would reuse. */
export function partialPaths(image: string, pid: number): { dir: string; squash: string } {
  const base = join(dirname(image), `.${basename(image)}.partial-${pid}`);
  return { dir: `${base}.d`, squash: `${base}.sqfs` };
}

export interface BuildStep {
  what: string;
  argv: string[];
}

/**
 * The conversion, as commands (pure): source -> directory (ch-convert), [ch-fromhost --nvidia], [directory -> SquashFS].
 * Mount points, metadata and renames are done by the runner between these steps.
 */
export function buildSteps(
  s: Pick<CharliecloudSettings, 'source' | 'chConvert' | 'nvidia' | 'format'>,
  partial: { dir: string; squash: string },
): { convert: BuildStep; nvidia?: BuildStep; squash?: BuildStep } {
  const src = s.source;
  const chConvert = s.chConvert;
  const convert = { what: `convert ${src.text} to a directory`, argv: [...chConvert, '-i', src.kind, '-o', 'dir', src.ref, partial.dir] };
  // ch-fromhost sits beside ch-convert (same prefix words, e.g. `sudo`).
  const last = chConvert[chConvert.length - 1];
  const fromhost = [...chConvert.slice(0, -1), last.includes('/') ? join(dirname(last), 'ch-fromhost') : 'ch-fromhost'];
  const nvidia = s.nvidia ? { what: 'inject the host NVIDIA libraries (ch-fromhost --nvidia)', argv: [...fromhost, '--nvidia', partial.dir] } : undefined;
  const squash = s.format === 'squash' ? { what: 'pack the directory as SquashFS', argv: [...chConvert, '-i', 'dir', '-o', 'squash', partial.dir, partial.squash] } : undefined;
  return { convert, ...(nvidia ? { nvidia } : {}), ...(squash ? { squash } : {}) };
}

/** Directories and files ch-run 0.31 binds onto and that a Docker export may lack, plus the /mlcube_io and /mlcube_metrics mount points. */
export function mountPointsToEnsure(count = MOUNT_POINTS): { dirs: string[]; files: string[] } {
  return {
    dirs: ['dev', 'proc', 'sys', 'tmp', 'home', 'etc', 'mnt', ...Array.from({ length: count }, (_, i) => `mlcube_io${i}`), METRICS_MOUNT.slice(1)],
    files: ['etc/passwd', 'etc/group', 'etc/hosts', 'etc/resolv.conf'],
  };
}

export interface RunPlan {
  argv: string[];
  gpus: GpuRequest;
  /** /mlcube_io<k> (and /mlcube_metrics) directories the binds need in the image. */
  mountPoints: string[];
  /** `host:/mlcube_io<k>` (and `host:/mlcube_metrics`), for the log. */
  mounts: string[];
  cwd: string;
  warnings: string[];
  /** Choices worth an info line (GPU handling). */
  notes: string[];
  /** What the runner makes under ContainerHost.scratch before the start. */
  scratch: ScratchLayout;
  /** The workspace's .mlcube where a bind shows it (its host directory must exist before the start). */
  covers: Cover[];
}

export interface BindPlan {
  /** `-b` pairs in order: parents before what is bound inside them. */
  binds: { host: string; container: string }[];
  args: string[];
  scratch: ScratchLayout;
  covers: Cover[];
  warnings: string[];
}

/**
 * The binds of a task (pure): planMounts' mounts, then what ch-run 0.31 needs to make them. It binds only onto
 * existing paths and never read-only, so: an input file bound by itself whose /mlcube_io<k> shows no directory gets
 * a scratch directory there holding an empty file of its name to bind onto; the empty scratch directory is bound over
 * the workspace's .mlcube wherever a bind shows it (both 0555). ch-run started by root gives the task every
 * capability in its namespaces, so it could unmount that cover (checked with ch-run 0.31): such a run is refused.
 * run_args binds (`-b`, `--home`) of what a parameter may not show are refused too.
 */
export function bindPlan(task: ResolvedTask, s: Pick<CharliecloudSettings, 'mountMode' | 'runArgs'>, host: ContainerHost): BindPlan {
  const plan = planMounts(task, s.mountMode);
  const opts = s.runArgs;
  checkExtraBinds(task.name, 'charliecloud.run_args', extraBindSources(opts, { '-b': 'bind', '--bind': 'bind' }, { '--home': task.isolation.home }), task.isolation, host.cwd);
  if (plan.covers.length && host.uid === 0) {
    const c = plan.covers[0];
    throw new ParameterError(
      `the mount of this parameter contains the workspace's run records (${c.host}), and mlcube runs as root: ch-run then gives the task every capability in its namespaces, so it could unmount the directory laid over them`,
      {
        place: { task: task.name, parameter: c.parameter },
        suggestions: [
          "Run mlcube as a non-root user, or point the parameter at a directory that does not contain the workspace's .mlcube (e.g. an output file under a subdirectory: report=reports/report.txt), or use --platform=docker.",
        ],
      },
    );
  }
  const warnings = [...plan.warnings];
  const ro = plan.mounts.filter((m) => m.opts === 'ro' && !m.implicit);
  if (ro.length) {
    warnings.push(
      `read-only inputs are NOT enforced by Charliecloud (ch-run 0.31 binds are always writable): ${ro.map((m) => `${m.host} (${m.container})`).join(', ')} ${ro.length === 1 ? 'is' : 'are'} mounted read-write; use --platform=docker or singularity where that matters`,
    );
  }
  const scratch: ScratchLayout = { dirs: [], files: [] };
  const binds: { host: string; container: string }[] = [];
  const shown = new Set(plan.mounts.filter((m) => m.kind === 'directory').map((m) => m.container));
  for (const m of plan.mounts) {
    if (m.kind === 'file') {
      const parent = dirname(m.container);
      if (!shown.has(parent)) {
        const stage = join(host.scratch, basename(parent));
        scratch.dirs.push(stage);
        binds.push({ host: stage, container: parent });
        shown.add(parent);
      }
      if (scratch.dirs.includes(join(host.scratch, basename(parent)))) scratch.files.push(join(host.scratch, basename(parent), basename(m.container)));
    }
    binds.push({ host: m.host, container: m.container });
  }
  if (plan.covers.length) scratch.dirs.unshift(emptyDirOf(host));
  for (const c of plan.covers) binds.push({ host: emptyDirOf(host), container: c.container });
  return { binds, args: plan.args, scratch, covers: plan.covers, warnings };
}

const setEnv = (k: string, v: string) => `--set-env=${k}=${v}`;

/**
 * `ch-run [run_args] --private-tmp --unset-env=* --env-no-expand --set-env=K=V... -c WORKDIR -b HOST:/mlcube_io<k>... IMAGE --
 * <entrypoint> <task> --param=/mlcube_io<k>...` (pure). The host environment is dropped; the task gets the image's
 * ENV, PATH/HOME, pass_env, CUDA_VISIBLE_DEVICES, env_args and MLCUBE_TASK/MLCUBE_GPUS. A task `entrypoint` replaces
 * the image entrypoint and the task name, as in the other runners. With `metricsDir` (the run is recorded) it is
 * bound at /mlcube_metrics and MLCUBE_METRICS_FILE names the file there; a host MLCUBE_METRICS_FILE is never passed.
 */
export function runPlan(
  task: ResolvedTask,
  s: CharliecloudSettings,
  image: string,
  meta: ImageMeta | undefined,
  hostEnv: Record<string, string | undefined>,
  metricsDir: string | undefined,
  host: ContainerHost,
): RunPlan {
  const plan = bindPlan(task, s, host);
  const warnings = [...plan.warnings];
  const notes: string[] = [];
  const gpus = s.gpus;

  const env = new Map<string, string>();
  for (const kv of meta?.env ?? []) {
    const eq = kv.indexOf('=');
    if (eq > 0) env.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  if (!env.has('PATH')) env.set('PATH', DEFAULT_PATH);
  if (!env.has('HOME')) env.set('HOME', '/tmp');
  for (const name of s.passEnv) {
    // A host path for the metrics file means nothing inside the image.
    if (hostEnv[name] !== undefined && name !== METRICS_ENV) env.set(name, String(hostEnv[name]));
  }
  const visible = cudaVisibleDevices(gpus);
  if (gpus.kind === 'count' || gpus.kind === 'devices' || s.hideGpus) env.set('CUDA_VISIBLE_DEVICES', visible ?? '');
  else if (hostEnv.CUDA_VISIBLE_DEVICES !== undefined) env.set('CUDA_VISIBLE_DEVICES', hostEnv.CUDA_VISIBLE_DEVICES);
  for (const [k, v] of Object.entries(s.env)) env.set(k, v);
  env.set('MLCUBE_TASK', task.name);
  env.set('MLCUBE_GPUS', describeGpus(gpus));
  if (metricsDir !== undefined) env.set(METRICS_ENV, `${METRICS_MOUNT}/${METRICS_FILE_NAME}`);
  if (gpus.kind !== 'none') {
    notes.push(
      `GPUs ${describeGpus(gpus)}: ch-run shares the host's /dev (no device isolation), CUDA_VISIBLE_DEVICES=${env.get('CUDA_VISIBLE_DEVICES') ?? '(host value)'}; ` +
        (meta?.nvidia
          ? 'the image holds the host NVIDIA libraries (ch-fromhost --nvidia)'
          : 'the image needs the host NVIDIA libraries: set charliecloud.nvidia: true and rebuild (-Pcharliecloud.rebuild=true), or run ch-fromhost --nvidia on it'),
    );
  }

  let command: string[];
  if (task.entrypoint) {
    command = [...splitCommand(task.entrypoint, `entrypoint of task "${task.name}"`), ...plan.args];
  } else {
    const entry = s.entrypoint ?? meta?.entrypoint ?? [];
    if (entry.length === 0) {
      throw new ImageError(
        `the image ${image} has no entrypoint to receive "${task.name} --param=..." (${meta ? `its Docker image ${meta.source} has no ENTRYPOINT` : `no ${basename(metaPath(image))} beside it records one`})`,
        {
          place: { task: task.name },
          suggestions: [
            'Name the program that takes <task> --param=... : -Pcharliecloud.entrypoint="node /cube/main.js" (or `entrypoint:` in the cube\'s charliecloud section), or convert the image from Docker again (-Pcharliecloud.rebuild=true) so its ENTRYPOINT is recorded.',
          ],
        },
      );
    }
    command = [...entry, task.name, ...plan.args];
  }

  const cwd = s.workdir ?? (meta?.workdir || '/');
  const opts = s.runArgs;
  const binds = [...plan.binds];
  if (metricsDir !== undefined) binds.push({ host: metricsDir, container: METRICS_MOUNT });
  // The host's /tmp would show every workspace, key and scratch directory under it (ch-run binds it by default).
  const privateTmp = opts.includes('-t') || opts.includes('--private-tmp') ? [] : ['--private-tmp'];
  const argv = [
    ...s.chRun,
    ...opts,
    ...privateTmp,
    '--unset-env=*',
    '--env-no-expand',
    ...[...env].map(([k, v]) => setEnv(k, v)),
    '-c',
    cwd,
    ...binds.flatMap((m) => ['-b', `${m.host}:${m.container}`]),
    image,
    '--',
    ...command,
  ];
  // Only the top-level targets must exist in the image; the rest lie inside binds.
  const mountPoints = [...new Set(binds.filter((m) => dirname(m.container) === '/').map((m) => m.container))];
  return { argv, gpus, mountPoints, mounts: binds.map((m) => `${m.host}:${m.container}`), cwd, warnings, notes, scratch: plan.scratch, covers: plan.covers };
}

/** `ch-run --version` prints e.g. `0.31` (on stderr). */
export function parseChVersion(text: string): string | undefined {
  const m = /^\s*(\d+\.\d+(?:[.~+-][\w.~+-]*)?)\s*$/m.exec(text);
  return m?.[1];
}
