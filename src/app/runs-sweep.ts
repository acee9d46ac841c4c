import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { existingWorkspace, type WhereGiven } from '../config/workspace-location.js';
import { loadRuns, shownStatus } from '../provenance/store.js';
import type { RunRecord } from '../provenance/record.js';
import type { AppEnv } from './context.js';
import { table } from './runs.js';
import { SWEEP_FILE, SWEEPS_DIR } from './sweep.js';

/** One point of a sweep as its latest records tell: its values, its status, and its tasks' final metrics (`<task>.<metric>`). */
export interface ComparedPoint {
  point: number;
  values: Record<string, unknown>;
  /** succeeded: every task's latest record succeeded; not_run: no task has a record; else the first unsuccessful task's status. */
  status: string;
  run_ids: Record<string, string>;
  metrics: Record<string, number | string>;
}

export interface SweepComparison {
  sweep: string;
  keys: string[];
  tasks: string[];
  metrics: string[];
  points: ComparedPoint[];
}

interface SweepFileDoc {
  id: string;
  keys: string[];
  tasks: string[];
  points: { point: number; values: Record<string, unknown> }[];
}

/**
 * `mlcube runs compare --sweep=ID`: a row per point of the sweep (<workspace>/sweeps/<id>/sweep.json), from the latest
 * record of each of the point's tasks (record.sweep): the swept values, the point's status, the final metrics.
 */
export function compareSweep(id: string, given: WhereGiven, app: AppEnv): SweepComparison {
  const where = existingWorkspace(given, app);
  const file = join(where.dir, SWEEPS_DIR, id, SWEEP_FILE);
  if (!/^[A-Za-z0-9_.-]+$/.test(id) || !existsSync(file)) {
    throw new UsageError(`no sweep "${id}" in ${where.dir} (${where.origin}): ${file} does not exist`, {
      suggestions: ['Pass a sweep id as `mlcube run --sweep` logged it, or as `mlcube runs list` shows it (SWEEP column), with the same --workspace/--mlcube.'],
    });
  }
  const doc = JSON.parse(readFileSync(file, 'utf8')) as SweepFileDoc;
  const runs = loadRuns(where.dir).filter((r) => r.sweep?.id === id);
  const latest = (point: number, task: string): RunRecord | undefined => runs.filter((r) => r.sweep!.point === point && r.task === task).at(-1);
  const metricKeys: string[] = [];
  const points = doc.points.map((p): ComparedPoint => {
    const recs = doc.tasks.map((t) => latest(p.point, t));
    const metrics: Record<string, number | string> = {};
    recs.forEach((r, i) => {
      for (const [m, v] of Object.entries(r?.metrics.final ?? {})) {
        const k = `${doc.tasks[i]}.${m}`;
        metrics[k] = v;
        if (!metricKeys.includes(k)) metricKeys.push(k);
      }
    });
    const statuses = recs.map((r) => (r ? shownStatus(r) : 'not_run'));
    const status = statuses.every((s) => s === 'not_run') ? 'not_run' : (statuses.find((s) => s !== 'succeeded') ?? 'succeeded');
    return { point: p.point, values: p.values, status, run_ids: Object.fromEntries(recs.flatMap((r, i) => (r ? [[doc.tasks[i], r.run_id]] : []))), metrics };
  });
  return { sweep: id, keys: doc.keys, tasks: doc.tasks, metrics: metricKeys, points };
}

export function renderSweepComparison(c: SweepComparison): string {
  const cell = (v: unknown) => (v === undefined || v === null ? '-' : typeof v === 'number' && !Number.isInteger(v) ? String(Number(v.toPrecision(6))) : String(v));
  return [
    `sweep ${c.sweep}: ${c.points.length} points of ${c.tasks.join(', ')}`,
    table([['POINT', ...c.keys, 'STATUS', ...c.metrics], ...c.points.map((p) => [String(p.point), ...c.keys.map((k) => cell(p.values[k])), p.status, ...c.metrics.map((m) => cell(p.metrics[m]))])]),
  ].join('\n');
}
