import { appendFileSync } from 'node:fs';

/**
 * Metric rows for the runtime's run record: one JSON line per value appended to $MLCUBE_METRICS_FILE when the
 * runtime sets it (schemas/metric-row.schema.json; NaN/Infinity travel as strings). No-op otherwise.
 */
export function reportMetrics(values: Record<string, number | null | undefined>, step?: number, file = process.env.MLCUBE_METRICS_FILE): void {
  if (!file) return;
  const timestamp = new Date().toISOString();
  const rows = Object.entries(values)
    .filter(([, v]) => typeof v === 'number')
    .map(([name, v]) =>
      JSON.stringify({ name, value: Number.isFinite(v) ? v : Number.isNaN(v) ? 'NaN' : (v as number) > 0 ? 'Infinity' : '-Infinity', ...(step === undefined ? {} : { step }), timestamp }),
    );
  if (rows.length) appendFileSync(file, rows.join('\n') + '\n');
}
