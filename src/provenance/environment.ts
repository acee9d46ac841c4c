import { execFile, spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { which } from '../which.js';

export interface GpuFact {
  name: string;
  driver: string;
  /** Total memory in MiB; absent when nvidia-smi reports none ([N/A]). */
  memory_mib?: number;
}

/** The machine a task ran on, for its run record. */
export interface HostFacts {
  cpu_model: string;
  /** Logical CPUs of the machine (not the process's affinity). */
  cpu_count: number;
  memory_bytes: number;
  /** null: no nvidia-smi on PATH, or it failed (then gpu_error says how). */
  gpus: GpuFact[] | null;
  gpu_error?: string;
}

export const NVIDIA_SMI_ARGS = ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader,nounits'];
/** nvidia-smi answers in ~0.1-1 s; a wedged driver must not hold a run up longer. */
export const NVIDIA_SMI_TIMEOUT_MS = 5000;

/**
 * GPUs from `nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader,nounits` (pure), one
 * `name, driver, MiB` line per GPU. Lines that are not three fields are reported in `error`, the others kept.
 */
export function parseNvidiaSmi(text: string): { gpus: GpuFact[]; error?: string } {
  const gpus: GpuFact[] = [];
  const bad: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) continue;
    // GPU names hold no commas; a driver error message (e.g. "NVIDIA-SMI has failed ...") has no fields at all.
    const fields = line.split(',').map((f) => f.trim());
    if (fields.length !== 3 || !fields[0] || !fields[1]) {
      bad.push(line);
      continue;
    }
    const mib = Number(fields[2]);
    gpus.push({ name: fields[0], driver: fields[1], ...(fields[2] !== '' && Number.isFinite(mib) ? { memory_mib: mib } : {}) });
  }
  return bad.length
    ? {
        gpus,
        error: `unexpected nvidia-smi output: ${bad
          .slice(0, 3)
          .map((l) => JSON.stringify(l.slice(0, 200)))
          .join('; ')}`,
      }
    : { gpus };
}

interface SmiRun {
  status: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  error?: Error & { code?: string };
}

/** The GPU part of the facts from one nvidia-smi run (pure). */
export function gpuFacts(r: SmiRun, timeoutMs: number): Pick<HostFacts, 'gpus' | 'gpu_error'> {
  if (r.error) {
    const timedOut = r.error.code === 'ETIMEDOUT' || /timed out/i.test(r.error.message);
    return { gpus: null, gpu_error: timedOut ? `nvidia-smi did not answer within ${timeoutMs} ms` : `nvidia-smi could not be run: ${r.error.message}` };
  }
  if (r.status !== 0) {
    const why = (r.stdout.trim() || r.stderr.trim()).split('\n')[0]?.slice(0, 300) ?? '';
    return { gpus: null, gpu_error: `nvidia-smi exited with ${r.status ?? r.signal}${why ? `: ${why}` : ''}` };
  }
  const parsed = parseNvidiaSmi(r.stdout);
  if (parsed.error && parsed.gpus.length === 0) return { gpus: null, gpu_error: parsed.error };
  return parsed.error ? { gpus: parsed.gpus, gpu_error: parsed.error } : { gpus: parsed.gpus };
}

export interface HostFactsOptions {
  /** Environment nvidia-smi is looked up (PATH) and run in (default: this process's). */
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
}

/** CPU model and count and memory of this machine (no GPUs: those need nvidia-smi, see hostFacts). */
export function machineFacts(): Pick<HostFacts, 'cpu_model' | 'cpu_count' | 'memory_bytes'> {
  const list = cpus();
  return { cpu_model: list[0]?.model.trim() || 'unknown', cpu_count: list.length, memory_bytes: totalmem() };
}

/** CPU, memory and NVIDIA GPUs of this machine. Never throws; nvidia-smi problems go to gpu_error. Blocks on nvidia-smi: prefer hostFactsAsync in a run. */
export function hostFacts(opts: HostFactsOptions = {}): HostFacts {
  const timeoutMs = opts.timeoutMs ?? NVIDIA_SMI_TIMEOUT_MS;
  const env = opts.env ?? process.env;
  const smi = which('nvidia-smi', env.PATH ?? '');
  if (!smi) return { ...machineFacts(), gpus: null };
  const r = spawnSync(smi, NVIDIA_SMI_ARGS, { encoding: 'utf8', env, timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'], killSignal: 'SIGKILL' });
  return { ...machineFacts(), ...gpuFacts({ status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error }, timeoutMs) };
}

/** hostFacts without blocking the event loop (nvidia-smi may take a second): start it with the task, await it after. */
export function hostFactsAsync(opts: HostFactsOptions = {}): Promise<HostFacts> {
  const timeoutMs = opts.timeoutMs ?? NVIDIA_SMI_TIMEOUT_MS;
  const env = opts.env ?? process.env;
  const smi = which('nvidia-smi', env.PATH ?? '');
  if (!smi) return Promise.resolve({ ...machineFacts(), gpus: null });
  return new Promise((resolve) => {
    execFile(smi, NVIDIA_SMI_ARGS, { encoding: 'utf8', env, timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: string | number; killed?: boolean; signal?: string }) | null;
      // execFile reports a non-zero exit as an error with a numeric code; spawn failures and the timeout kill otherwise.
      const run: SmiRun =
        e && typeof e.code === 'number'
          ? { status: e.code, signal: null, stdout, stderr }
          : e && e.killed
            ? { status: null, signal: e.signal ?? 'SIGKILL', stdout, stderr, error: Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' }) }
            : e && e.signal
              ? { status: null, signal: e.signal, stdout, stderr }
              : e
                ? { status: null, signal: null, stdout, stderr, error: e as Error & { code?: string } }
                : { status: 0, signal: null, stdout, stderr };
      resolve({ ...machineFacts(), ...gpuFacts(run, timeoutMs) });
    });
  });
}
