import { existsSync, readFileSync } from 'node:fs';
import { checkSchema } from '../config/schemas.js';

/** One metric row a task appends to $MLCUBE_METRICS_FILE (schemas/metric-row.schema.json). */
export interface MetricRow {
  name: string;
  /** NaN and ±Infinity travel as the strings "NaN", "Infinity", "-Infinity". */
  value: number | 'NaN' | 'Infinity' | '-Infinity';
  step?: number | null;
  timestamp: string;
}

/** A number as a metric value: finite numbers stay numbers, the rest become their JSON-safe strings. */
export function metricValue(x: number): MetricRow['value'] {
  return Number.isFinite(x) ? x : Number.isNaN(x) ? 'NaN' : x > 0 ? 'Infinity' : '-Infinity';
}

/** Reads the rows a task wrote; rows that break the schema are returned as rejected lines (never dropped silently). */
export function readMetrics(path: string): { rows: MetricRow[]; rejected: string[] } {
  const rows: MetricRow[] = [];
  const rejected: string[] = [];
  if (!existsSync(path)) return { rows, rejected };
  const lines = readFileSync(path, 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      rejected.push(`line ${i + 1}: not JSON`);
      return;
    }
    const problems = checkSchema('metric-row.schema.json', v);
    if (problems.length) rejected.push(`line ${i + 1}: ${problems.map((p) => `/${p.path.join('/')} ${p.message}`).join('; ')}`);
    else rows.push(v as MetricRow);
  });
  return { rows, rejected };
}

/** Final value of each metric: the row with the highest step (the last written among equals). */
export function finalMetrics(rows: readonly MetricRow[]): Record<string, MetricRow['value']> {
  const best = new Map<string, { step: number; value: MetricRow['value'] }>();
  for (const r of rows) {
    const step = r.step ?? -1;
    const cur = best.get(r.name);
    if (!cur || step >= cur.step) best.set(r.name, { step, value: r.value });
  }
  return Object.fromEntries([...best].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, v.value]));
}
