import { isAbsolute, join, resolve } from 'node:path';
import { ConfigError } from '../src/errors.js';
import { checkExtraBinds, emptyDirOf, extraBindSources, planMounts, type ContainerHost, type Cover, type ScratchLayout } from '../src/params/mounts.js';
import { cudaVisibleDevices, describeGpus, type GpuRequest } from '../src/params/gpus.js';
import type { ResolvedTask } from '../src/params/resolve.js';
import { splitCommand } from '../src/params/split-command.js';
import { METRICS_ENV, METRICS_FILE_NAME, METRICS_MOUNT } from '../src/runner.js';
import type { SingularitySettings } from './singularity-config.js';

/** Which runtime a `--version` line names (Python mlcube_singularity client.py's three forms). */
export interface RuntimeVersion {
  flavor: 'apptainer' | 'singularity' | 'unknown';
  version: string;
}

/**
 * The environment of the singularity process itself: the host's, less MLCUBE_METRICS_FILE (Singularity passes the
 * host environment into the container, where a host path means nothing; the task gets its own through --env).
 */
export function clientEnv(env: Record<string, string | undefined>): Record<string, string | undefined> {
  const out = { ...env };
  delete out[METRICS_ENV];
  return out;
}

/** `apptainer version 1.1.9-1.el9`, `singularity-ce version 3.11.0`, `singularity version 3.7.4`, bare `1.0.32`. */
export function parseVersion(text: string): RuntimeVersion | undefined {
  const line = text.trim().split('\n')[0]?.trim() ?? '';
  const m = /^(apptainer|singularity-ce|singularity)\s+version\s+(\S+)/i.exec(line);
  if (m) return { flavor: m[1].toLowerCase() === 'apptainer' ? 'apptainer' : 'singularity', version: m[2] };
  if (/^\d+\.\d+/.test(line)) return { flavor: 'unknown', version: line.split(/\s/)[0] };
  return undefined;
}

/** The configured executable as argv words: `sudo singularity` -> [sudo, singularity] (never a shell string). */
export function clientArgv(executable: string): string[] {
  const words = splitCommand(executable, 'singularity.singularity');
  if (words.length === 0) {
    throw new ConfigError('singularity.singularity (the executable) is empty', {
      configPath: ['runner', 'singularity'],
      suggestions: ['Set it to singularity, apptainer, "sudo singularity" or an absolute path, e.g. -Psingularity.singularity=apptainer.'],
    });
  }
  return words;
}

/** Where the SIF lives: image_dir (relative to the cube root when relative) / image. */
export function sifPath(s: Pick<SingularitySettings, 'image' | 'imageDir'>, root: string): string {
  const dir = s.imageDir ?? join(root, 'workspace', '.image');
  return join(resolve(root, dir), s.image);
}

export type SourceKind = 'recipe' | 'docker' | 'docker-daemon' | 'docker-archive' | 'uri';

/** What `build` converts: a definition file (relative to the root), or a URI singularity understands. */
export function buildSourceOf(f: string, root: string): { kind: SourceKind; source: string } {
  if (f.startsWith('docker://')) return { kind: 'docker', source: f };
  if (f.startsWith('docker-daemon:')) return { kind: 'docker-daemon', source: f };
  if (f.startsWith('docker-archive:')) {
    // The archive path is relative to the cube root (the Python runner ran `cd <root>; singularity build ...`).
    const p = f.slice('docker-archive:'.length);
    return { kind: 'docker-archive', source: `docker-archive:${isAbsolute(p) ? p : resolve(root, p)}` };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(f)) return { kind: 'uri', source: f }; // library://, oras://, shub://, https://
  return { kind: 'recipe', source: isAbsolute(f) ? f : resolve(root, f) };
}

/**
 * `<exe> build [build_args] <target> <source>`. build_args are passed exactly as configured: `--fakeroot` is
 * the Python default and stays unless the user empties it (`-Psingularity.build_args=`, mlcube#357, medperf#560).
 */
export function buildArgv(s: Pick<SingularitySettings, 'executable' | 'buildArgs' | 'buildFile'>, root: string, target: string): string[] {
  return [...clientArgv(s.executable), 'build', ...s.buildArgs, target, buildSourceOf(s.buildFile, root).source];
}

export interface RunPlan {
  argv: string[];
  gpus: GpuRequest;
  warnings: string[];
  /** What the runner makes under ContainerHost.scratch before the start. */
  scratch: ScratchLayout;
  /** The workspace's .mlcube where a bind shows it (its host directory must exist before the start). */
  covers: Cover[];
}

/** Options of `singularity run` that bind host paths (checked against what a task may see). */
const BIND_OPTIONS = { '-B': 'bind', '--bind': 'bind', '--mount': 'mount', '-H': 'bind', '--home': 'bind' } as const;
/** Any of these keeps the host's $HOME, current directory and /tmp out of the container. */
const CONTAIN_OPTIONS = ['-c', '--contain', '-C', '--containall'];

/**
 * `<exe> run|exec [run_args] [--network=..] [--security=..] [--nv] [--vm-ram=..] [--vm-cpu=..] [--containall]
 * [--cleanenv] [--contain] [--no-privs] --env K=V... --bind host:/mlcube_io<k>[:ro]... [--bind EMPTY:<.mlcube>:ro]
 * <sif> <task | entrypoint> --param=/mlcube_io<k>...` (Python SingularityRun.run, reference §5.2). GPUs come from
 * --gpus or platform.accelerator_count, like the other runners: any request adds --nv and pins CUDA_VISIBLE_DEVICES
 * unless `all`. With `metricsDir` (the run is recorded) it is bound rw at /mlcube_metrics and MLCUBE_METRICS_FILE
 * names the file there. Isolation (not in Python): `--contain` unless run_args contains already (Singularity
 * otherwise binds the host's $HOME, current directory and /tmp: keys, the workspace's records); the binds of
 * planMounts, an empty read-only directory over the workspace's .mlcube wherever one shows it, with `--no-privs`
 * when root or `--fakeroot` would give the task the capabilities to unmount it; run_args binds of what a parameter
 * may not show are refused.
 */
export function runPlan(task: ResolvedTask, s: SingularitySettings, sif: string, metricsDir: string | undefined, host: ContainerHost): RunPlan {
  const mounts = planMounts(task, s.mountMode);
  const gpus = s.gpus;

  const opts: string[] = [...s.runArgs];
  if (s.network) opts.push(`--network=${s.network}`);
  if (s.security) opts.push(`--security=${s.security}`);
  if (gpus.kind !== 'none' && !opts.includes('--nv')) opts.push('--nv');
  if (s.vmRam) opts.push(`--vm-ram=${s.vmRam}`);
  if (s.vmCpu) opts.push(`--vm-cpu=${s.vmCpu}`);
  if (s.containall && !opts.includes('--containall') && !opts.includes('-C')) opts.push('--containall');
  if (s.cleanenv && !opts.includes('--cleanenv') && !opts.includes('-e')) opts.push('--cleanenv');
  checkExtraBinds(task.name, 'singularity.run_args', extraBindSources(opts, BIND_OPTIONS), task.isolation, host.cwd);
  if (!opts.some((o) => CONTAIN_OPTIONS.includes(o))) opts.push('--contain');
  const fakeroot = opts.includes('--fakeroot') || opts.includes('-f');
  if (mounts.covers.length && (host.uid === 0 || fakeroot) && !opts.includes('--no-privs')) opts.push('--no-privs');

  const env: string[] = [...s.env];
  const visible = cudaVisibleDevices(gpus);
  if ((gpus.kind === 'count' || gpus.kind === 'devices') && visible && !env.some((e) => e.startsWith('CUDA_VISIBLE_DEVICES='))) env.push(`CUDA_VISIBLE_DEVICES=${visible}`);
  env.push(`MLCUBE_TASK=${task.name}`, `MLCUBE_GPUS=${describeGpus(gpus)}`);
  const binds = mounts.mounts.map((m) => `${m.host}:${m.container}${m.opts ? `:${m.opts}` : ''}`);
  // Nested binds apply in order: each cover comes after the bind that shows what it hides.
  for (const c of mounts.covers) binds.push(`${emptyDirOf(host)}:${c.container}:ro`);
  if (metricsDir !== undefined) {
    // The file the recorder reads, at the path the task can reach (env_args cannot point it elsewhere).
    env.splice(0, env.length, ...env.filter((e) => !e.startsWith(`${METRICS_ENV}=`)), `${METRICS_ENV}=${METRICS_MOUNT}/${METRICS_FILE_NAME}`);
    binds.push(`${metricsDir}:${METRICS_MOUNT}:rw`);
  }
  for (const e of env) opts.push('--env', e);
  for (const b of binds) opts.push('--bind', b);

  const argv = task.entrypoint
    ? [...clientArgv(s.executable), 'exec', ...opts, sif, ...splitCommand(task.entrypoint, `entrypoint of task "${task.name}"`), ...mounts.args]
    : [...clientArgv(s.executable), 'run', ...opts, sif, task.name, ...mounts.args];
  return { argv, gpus, warnings: mounts.warnings, scratch: { dirs: mounts.covers.length ? [emptyDirOf(host)] : [], files: [] }, covers: mounts.covers };
}
