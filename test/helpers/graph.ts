import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readJson } from './cli.js';

export interface TaskSpan {
  status: string;
  exit_code: number | null;
  run_id: string;
  /** started_at / ended_at of the record, in ms. */
  start: number;
  end: number;
}

/** The run records of a workspace by task, whole: the latest run of each (by its start). */
export function latestRecords(ws: string): Record<string, any> {
  const dir = join(ws, '.mlcube', 'runs');
  const out: Record<string, any> = {};
  if (!existsSync(dir)) return out;
  for (const id of readdirSync(dir)) {
    if (!existsSync(join(dir, id, 'record.json'))) continue;
    const r = readJson(join(dir, id, 'record.json'));
    if (!out[r.task] || Date.parse(out[r.task].started_at) <= Date.parse(r.started_at)) out[r.task] = r;
  }
  return out;
}

/** The latest run of each task (latestRecords) as its status and time span. */
export function recordsByTask(ws: string): Record<string, TaskSpan> {
  return Object.fromEntries(
    Object.entries(latestRecords(ws)).map(([t, r]) => [t, { status: r.status, exit_code: r.exit_code, run_id: r.run_id, start: Date.parse(r.started_at), end: Date.parse(r.ended_at) }]),
  );
}

/** Two tasks ran side by side: their records' time spans overlap. */
export const overlap = (x: TaskSpan, y: TaskSpan) => x.start < y.end && y.start < x.end;
