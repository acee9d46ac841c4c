import { ConfigError } from '../errors.js';

/** A GPU request, as the Python MLCube's DeviceSpecs (PR mlcube#351). */
export type GpuRequest = { kind: 'none' } | { kind: 'all' } | { kind: 'count'; count: number } | { kind: 'devices'; devices: string[] };

/** '', '0', negative -> none; 'all'; 'N'; 'device=i|uuid[,...]'. Anything else (e.g. '0,1') is an error. */
export function parseGpuSpec(spec: string | null | undefined, source = '--gpus'): GpuRequest {
  const s = (spec ?? '').trim();
  if (s === '' || /^-?0+$/.test(s) || /^-\d+$/.test(s)) return { kind: 'none' };
  if (s === 'all') return { kind: 'all' };
  if (/^\d+$/.test(s)) return { kind: 'count', count: Number(s) };
  const m = /^device=(.+)$/.exec(s);
  if (m) {
    const devices = m[1].split(',').map((d) => d.trim());
    if (devices.every((d) => /^\d+$/.test(d) || /^GPU-[0-9a-fA-F-]+$/.test(d))) return { kind: 'devices', devices };
  }
  throw new ConfigError(`${source}="${s}" is not a GPU specification`, {
    suggestions: [`Use all, a count (2), or device=0,2 (indices or GPU-UUIDs); e.g. --gpus=device=${s.replace(/^device=/, '')}.`],
  });
}

/** CLI --gpus wins when given (even empty = no GPUs); else platform.accelerator_count (> 0 -> N). */
export function gpuRequest(cliSpec: string | null | undefined, acceleratorCount: unknown): GpuRequest {
  if (cliSpec !== null && cliSpec !== undefined) return parseGpuSpec(cliSpec);
  const n = typeof acceleratorCount === 'number' ? acceleratorCount : Number.NaN;
  return n > 0 ? { kind: 'count', count: n } : { kind: 'none' };
}

/** CUDA_VISIBLE_DEVICES for the task: N -> 0..N-1, device=a,b -> a,b, none -> '' (hide), all -> unset. */
export function cudaVisibleDevices(req: GpuRequest): string | undefined {
  switch (req.kind) {
    case 'none':
      return '';
    case 'all':
      return undefined;
    case 'count':
      return Array.from({ length: req.count }, (_, i) => String(i)).join(',');
    case 'devices':
      return req.devices.join(',');
  }
}

export function describeGpus(req: GpuRequest): string {
  switch (req.kind) {
    case 'none':
      return 'none';
    case 'all':
      return 'all';
    case 'count':
      return String(req.count);
    case 'devices':
      return `device=${req.devices.join(',')}`;
  }
}
