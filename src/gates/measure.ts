import { lstatSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { finalMetrics, readMetrics } from '../provenance/metrics.js';
import { readRegularFile } from '../provenance/safe-read.js';
import { paramDigestOptions } from '../provenance/paths.js';
import type { Measurement } from './evaluate.js';
import type { GateSpec } from './spec.js';

/** A JSON file a gate reads is a metrics report: larger than this, it is not read (the gate fails). */
const JSON_LIMIT_BYTES = 16 * 1024 * 1024;

/** The final value of each metric the task reported (its metrics file), NaN and ±Infinity as numbers again. */
export function reportedMetrics(metricsFile: string): Map<string, number> {
  const final = finalMetrics(readMetrics(metricsFile).rows);
  return new Map(Object.entries(final).map(([k, v]) => [k, typeof v === 'number' ? v : Number(v)]));
}

/** A metric gate's value among the task's final metric values. */
export function metricMeasure(metrics: ReadonlyMap<string, number>, name: string): Measurement {
  if (metrics.has(name)) return { found: true, value: metrics.get(name) };
  const known = [...metrics.keys()];
  return { found: false, why: `the task reported no metric "${name}" (${known.length ? `it reported ${known.join(', ')}` : 'it reported no metric rows'})` };
}

/** The value at a dot-separated key of a parsed JSON document (a number segment indexes a list). */
export function valueAtKey(doc: unknown, key: string, where: string): Measurement {
  let cur: unknown = doc;
  const segs = key.split('.');
  for (const [i, s] of segs.entries()) {
    const here = segs.slice(0, i).join('.') || 'the top level';
    if (Array.isArray(cur) && /^[0-9]+$/.test(s) && Number(s) < cur.length) cur = cur[Number(s)];
    else if (cur !== null && typeof cur === 'object' && !Array.isArray(cur) && Object.prototype.hasOwnProperty.call(cur, s)) cur = (cur as Record<string, unknown>)[s];
    else {
      const has = Array.isArray(cur)
        ? `a list of ${cur.length}`
        : cur !== null && typeof cur === 'object'
          ? `keys ${Object.keys(cur).slice(0, 10).join(', ') || '(none)'}`
          : `a ${cur === null ? 'null' : typeof cur}`;
      return { found: false, why: `${where} has no key "${key}" (at ${here}: ${has})` };
    }
  }
  return { found: true, value: cur };
}

/** A json gate's value: the file (never through a symbolic link, never a FIFO), parsed, at the gate's key. */
export function jsonMeasure(file: string, key: string): Measurement {
  const read = readRegularFile(file);
  if (!read.ok) return { found: false, why: `${file} ${read.why}` };
  if (read.data.length > JSON_LIMIT_BYTES) return { found: false, why: `${file} is larger than ${JSON_LIMIT_BYTES / 2 ** 20} MiB` };
  let doc: unknown;
  try {
    doc = JSON.parse(read.data.toString('utf8'));
  } catch (e) {
    return { found: false, why: `${file} is not JSON (${(e as Error).message})` };
  }
  return valueAtKey(doc, key, file);
}

/**
 * Bytes of a file, or of a directory's regular files (links inside are not followed; `exclude` leaves out a
 * subtree, `/`-separated, as the digest does the workspace's own records); the path itself is followed.
 */
export function sizeMeasure(path: string, exclude: (rel: string) => boolean = () => false): Measurement {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return { found: false, why: `${path} is missing` };
  if (st.isFile()) return { found: true, value: st.size };
  if (!st.isDirectory()) return { found: false, why: `${path} is neither a file nor a directory` };
  try {
    return { found: true, value: treeBytes(path, '', exclude) };
  } catch (e) {
    return { found: false, why: `${path} cannot be measured (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
  }
}

function treeBytes(dir: string, rel: string, exclude: (rel: string) => boolean): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (exclude(r)) continue;
    if (e.isDirectory()) n += treeBytes(join(dir, e.name), r, exclude);
    else if (e.isFile()) n += lstatSync(join(dir, e.name)).size;
  }
  return n;
}

/** How the runtime measures each gate of a task that ended: its metrics file, and its parameters' host paths. */
export function taskMeasure(metricsFile: string, workspace: string, hostPath: (io: 'input' | 'output', name: string) => string): (g: GateSpec) => Measurement {
  let metrics: Map<string, number> | undefined;
  return (g) => {
    if (g.kind === 'metric') return metricMeasure((metrics ??= reportedMetrics(metricsFile)), g.source);
    const base = hostPath(g.param!.io, g.param!.name);
    if (g.kind === 'size') return sizeMeasure(base, paramDigestOptions(base, workspace).exclude);
    return jsonMeasure(g.param!.file ? join(base, ...g.param!.file.split('/')) : base, g.key!);
  };
}
