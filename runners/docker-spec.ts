import { basename } from 'node:path';
import type Docker from 'dockerode';
import { ConfigError, ParameterError } from '../src/errors.js';
import { isTree, type Tree } from '../src/config/tree.js';
import { planMounts, type Cover } from '../src/params/mounts.js';
import { describeGpus, cudaVisibleDevices, type GpuRequest } from '../src/params/gpus.js';
import type { ResolvedTask } from '../src/params/resolve.js';
import { splitCommand } from '../src/params/split-command.js';
import { METRICS_ENV, METRICS_FILE_NAME, METRICS_MOUNT } from '../src/runner.js';
import type { DockerSettings } from './docker-config.js';

export const LABEL_PREFIX = 'org.mlcommons.mlcube';

export interface HostUser {
  uid: number;
  gid: number;
}

/** Extra `docker run` words from cpu_args/gpu_args, mapped onto the Engine API (the Python runner passed them to a shell). */
export interface ExtraArgs {
  user?: string;
  env: string[];
  ipcMode?: string;
  networkMode?: string;
  shmSize?: number;
  privileged?: boolean;
  ignored: string[];
}

/** Parses the docker-run options cubes put in cpu_args/gpu_args; unknown ones are reported, never passed to a shell. */
export function parseExtraArgs(words: string): ExtraArgs {
  const out: ExtraArgs = { env: [], ignored: [] };
  const tokens = splitCommand(words, 'docker cpu_args/gpu_args');
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    const eq = t.indexOf('=');
    const [flag, inline] = t.startsWith('--') && eq > 0 ? [t.slice(0, eq), t.slice(eq + 1)] : [t, undefined];
    const value = () => inline ?? tokens[++i];
    switch (flag) {
      case '--rm':
      case '-it':
      case '-i':
      case '-t':
        break; // containers are always removed; no TTY is allocated
      case '-u':
      case '--user':
        out.user = value();
        break;
      case '-e':
      case '--env':
        out.env.push(value());
        break;
      case '--ipc':
        out.ipcMode = value();
        break;
      case '--net':
      case '--network':
        out.networkMode = value();
        break;
      case '--shm-size':
        out.shmSize = parseBytes(value(), '--shm-size');
        break;
      case '--privileged':
        out.privileged = true;
        break;
      case '--gpus':
        value(); // GPUs come from --gpus / platform.accelerator_count
        break;
      default:
        out.ignored.push(t);
    }
  }
  return out;
}

/** "512m", "2g", "1024" -> bytes (docker's units). */
export function parseBytes(s: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmg]?)b?$/i.exec(s.trim());
  if (!m) throw new ConfigError(`${what}="${s}" is not a size`, { suggestions: [`Use a size such as 512m or 2g (${what}=2g).`] });
  const mult = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as 'k'];
  return Math.round(Number(m[1]) * mult);
}

/** K=V pairs from a map, or from a string in the Python runner's rendered form ("-e K=V -e K2='a b'"). */
export function keyValues(value: unknown, flag: '-e' | '--build-arg'): string[] {
  if (isTree(value)) return Object.entries(value).map(([k, v]) => `${k}=${v}`);
  if (typeof value !== 'string' || !value.trim()) return [];
  const tokens = splitCommand(value, `docker ${flag === '-e' ? 'env_args' : 'build_args'}`);
  return tokens.filter((t, i) => t !== flag && (tokens[i - 1] === flag || t.includes('=')));
}

/** Engine API DeviceRequests for a GPU request (the API form of `docker run --gpus`). */
export function deviceRequests(req: GpuRequest): Docker.DeviceRequest[] {
  switch (req.kind) {
    case 'none':
      return [];
    case 'all':
      return [{ Driver: '', Count: -1, Capabilities: [['gpu']] }];
    case 'count':
      return [{ Driver: '', Count: req.count, Capabilities: [['gpu']] }];
    case 'devices':
      return [{ Driver: '', DeviceIDs: req.devices, Capabilities: [['gpu']] }];
  }
}

export interface ContainerPlan {
  options: Docker.ContainerCreateOptions;
  gpus: GpuRequest;
  warnings: string[];
  /** The workspace's .mlcube as the container would see it, under an empty read-only tmpfs; its host directory must exist first. */
  covers: Cover[];
}

/** Over the workspace's .mlcube wherever a bind shows it: empty, read-only, nothing reaches the host. */
export function coverMount(target: string): Docker.MountSettings {
  return { Type: 'tmpfs', Source: '', Target: target, ReadOnly: true, TmpfsOptions: { SizeBytes: 4096, Mode: 0o555 } };
}

/**
 * The container for one task (pure): the /mlcube_io<k> binds of planMounts (ro where asked, input files by
 * themselves, a read-only tmpfs over the workspace's .mlcube wherever a bind shows it), the argv contract, the invoking
 * user's uid:gid unless `user: image` (mlcube#192, #306), env, limits, GPUs as DeviceRequests, labels.
 * A single-token entrypoint keeps the parameters (the Python runner drops them all). With `metricsDir` (the run is
 * recorded) it is bound rw at /mlcube_metrics and MLCUBE_METRICS_FILE names the file there.
 */
export function containerPlan(task: ResolvedTask, s: DockerSettings, host: HostUser | undefined, labels: Record<string, string>, metricsDir?: string): ContainerPlan {
  const plan = planMounts(task, s.mountMode);
  const gpus = s.gpus;
  const extra = s.extraArgs;
  if (extra.privileged && plan.covers.length) {
    const c = plan.covers[0];
    throw new ParameterError(
      `${s.extraArgsKey} has --privileged, and the mount of this parameter contains the workspace's run records (${c.host}): a privileged container may unmount what hides them`,
      {
        place: { task: task.name, parameter: c.parameter },
        suggestions: [
          "Drop --privileged from docker.cpu_args/gpu_args, or point the parameter at a directory that does not contain the workspace's .mlcube (e.g. an output file under a subdirectory: report=reports/report.txt).",
        ],
      },
    );
  }
  const warnings = [...plan.warnings];
  if (extra.ignored.length) warnings.push(`ignored docker-run options in ${s.extraArgsKey}: ${extra.ignored.join(' ')} (not supported through the Engine API)`);

  let entrypoint: string[] | undefined;
  let cmd: string[];
  if (task.entrypoint) {
    const tokens = splitCommand(task.entrypoint, `entrypoint of task "${task.name}"`);
    entrypoint = tokens.slice(0, 1);
    cmd = [...tokens.slice(1), ...plan.args];
  } else {
    cmd = [task.name, ...plan.args];
  }

  const user = extra.user ?? (s.user === 'image' ? undefined : s.user === 'host' ? (host ? `${host.uid}:${host.gid}` : undefined) : s.user);
  const env = [...s.env, ...extra.env];
  const visible = cudaVisibleDevices(gpus);
  if (gpus.kind !== 'none' && visible !== undefined && !env.some((e) => e.startsWith('CUDA_VISIBLE_DEVICES='))) env.push(`CUDA_VISIBLE_DEVICES=${visible}`);
  env.push(`MLCUBE_TASK=${task.name}`, `MLCUBE_GPUS=${describeGpus(gpus)}`);
  const binds = plan.mounts.map((m) => `${m.host}:${m.container}${m.opts ? `:${m.opts}` : ''}`);
  if (metricsDir !== undefined) {
    // The file the recorder reads, at the path the task can reach (env_args / cpu_args cannot point it elsewhere).
    env.splice(0, env.length, ...env.filter((e) => !e.startsWith(`${METRICS_ENV}=`)), `${METRICS_ENV}=${METRICS_MOUNT}/${METRICS_FILE_NAME}`);
    binds.push(`${metricsDir}:${METRICS_MOUNT}:rw`);
  }

  const hostConfig: Docker.HostConfig = {
    Binds: binds,
    ...(plan.covers.length ? { Mounts: plan.covers.map((c) => coverMount(c.container)) } : {}),
    AutoRemove: false,
    DeviceRequests: deviceRequests(gpus),
    // An init as PID 1 (docker run --init): the task is not PID 1, so SIGTERM from a stop reaches it (the kernel
    // drops signals a PID 1 has no handler for: every stop then waited out the grace, 5.1 s, for SIGKILL).
    Init: s.init,
  };
  const network = s.network ?? extra.networkMode;
  if (network) hostConfig.NetworkMode = network;
  if (s.securityOpt) hostConfig.SecurityOpt = [s.securityOpt];
  if (s.memory) hostConfig.Memory = s.memory.bytes;
  if (s.cpusetCpus) hostConfig.CpusetCpus = s.cpusetCpus;
  if (extra.ipcMode) hostConfig.IpcMode = extra.ipcMode;
  if (extra.shmSize) hostConfig.ShmSize = extra.shmSize;
  if (extra.privileged) hostConfig.Privileged = true;

  const options: Docker.ContainerCreateOptions = {
    Image: s.image,
    Cmd: cmd,
    ...(entrypoint ? { Entrypoint: entrypoint } : {}),
    ...(user ? { User: user } : {}),
    Env: env,
    Labels: { [`${LABEL_PREFIX}.task`]: task.name, ...labels },
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    HostConfig: hostConfig,
  };
  return { options, gpus, warnings, covers: plan.covers };
}

/** A readable container name: mlcube-<cube>-<task>-<random>. */
export function containerName(cube: string, task: string): string {
  const clean = (s: string) =>
    s
      .toLowerCase()
      .replace(/[^a-z0-9_.-]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'x';
  return `mlcube-${clean(basename(cube))}-${clean(task)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** What one usage sample tells: cumulative CPU time, current memory; undefined for a container not running. */
export interface StatsSample {
  cpuNs?: number;
  memoryBytes?: number;
}

/**
 * The figures of a GET /containers/{id}/stats answer (pure). Memory is usage less inactive file cache, as `docker
 * stats` computes it (cgroup v1: total_inactive_file, v2: inactive_file). A stopped container answers zeros and
 * an unset `read` time: undefined.
 */
export function statsSample(stats: Tree | undefined): StatsSample | undefined {
  if (!isTree(stats) || typeof stats.read !== 'string' || stats.read.startsWith('0001-')) return undefined;
  const cpu = isTree(stats.cpu_stats) && isTree(stats.cpu_stats.cpu_usage) ? stats.cpu_stats.cpu_usage.total_usage : undefined;
  const mem = isTree(stats.memory_stats) ? stats.memory_stats : {};
  const usage = typeof mem.usage === 'number' ? mem.usage : undefined;
  const detail = isTree(mem.stats) ? mem.stats : {};
  const inactive = typeof detail.total_inactive_file === 'number' ? detail.total_inactive_file : typeof detail.inactive_file === 'number' ? detail.inactive_file : 0;
  const out: StatsSample = {};
  if (typeof cpu === 'number' && cpu > 0) out.cpuNs = cpu;
  if (usage !== undefined && usage > 0) out.memoryBytes = Math.max(0, usage - inactive);
  return out.cpuNs === undefined && out.memoryBytes === undefined ? undefined : out;
}

/** Where a container's cgroup files may be on this host: v2 then v1, the daemon's systemd then cgroupfs layouts. */
export function cgroupCandidates(id: string, root = '/sys/fs/cgroup'): { version: 1 | 2; memory: string; cpu: string }[] {
  const rels = [`system.slice/docker-${id}.scope`, `docker/${id}`];
  return [
    ...rels.map((r) => ({ version: 2 as const, memory: `${root}/${r}`, cpu: `${root}/${r}` })),
    ...rels.map((r) => ({ version: 1 as const, memory: `${root}/memory/${r}`, cpu: `${root}/cpuacct/${r}` })),
  ];
}

/** The files read for a sample, per cgroup version (memory dir, cpu dir). */
export const CGROUP_FILES = {
  1: { usage: 'memory.usage_in_bytes', stat: 'memory.stat', cpu: 'cpuacct.usage' },
  2: { usage: 'memory.current', stat: 'memory.stat', cpu: 'cpu.stat' },
} as const;

/**
 * A sample from a container's cgroup files (pure; their text, undefined where unreadable): memory is usage less
 * inactive file cache (as `docker stats`), CPU the cumulative time (v1 cpuacct.usage in ns, v2 cpu.stat usage_usec).
 */
export function cgroupSample(version: 1 | 2, files: { usage?: string; stat?: string; cpu?: string }): StatsSample | undefined {
  const statValue = (key: string) => {
    const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(files.stat ?? '');
    return m ? Number(m[1]) : undefined;
  };
  const usage = files.usage !== undefined && /^\d+\s*$/.test(files.usage) ? Number(files.usage) : undefined;
  const inactive = (version === 1 ? statValue('total_inactive_file') : statValue('inactive_file')) ?? 0;
  let cpuNs: number | undefined;
  if (version === 1 && files.cpu !== undefined && /^\d+\s*$/.test(files.cpu)) cpuNs = Number(files.cpu);
  if (version === 2) {
    const m = /^usage_usec (\d+)$/m.exec(files.cpu ?? '');
    if (m) cpuNs = Number(m[1]) * 1000;
  }
  const out: StatsSample = {};
  if (cpuNs !== undefined && cpuNs > 0) out.cpuNs = cpuNs;
  if (usage !== undefined && usage > 0) out.memoryBytes = Math.max(0, usage - inactive);
  return out.cpuNs === undefined && out.memoryBytes === undefined ? undefined : out;
}
