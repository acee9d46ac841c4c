import { isAbsolute, join, resolve } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { ProvenanceError, UsageError } from '../errors.js';
import type { AppEnv } from './context.js';
import { findRun, loadRuns, runsDir, shownStatus } from '../provenance/store.js';
import { RECORD_FILE, type RunRecord } from '../provenance/record.js';
import { generateKeys, defaultKeyDir, trustedPublicKey } from '../provenance/keys.js';
import { runDirOf, verifyRun, type VerifyResult } from '../provenance/verify.js';
import { lineageGraph, toDot, type LineageGraph } from '../provenance/lineage.js';

const ws = (w: string | undefined, app: AppEnv) => resolve(app.cwd, w ?? '.');

export interface RunSummary {
  run_id: string;
  task: string;
  status: string;
  exit_code: number | null;
  started_at: string;
  duration_ms: number | null;
  signed: boolean;
  consumed: string[];
  metrics: Record<string, number | string>;
}

/** `mlcube runs list`: every run of a workspace, a dead "running" one shown as killed. */
export function listRuns(workspace: string | undefined, app: AppEnv): RunSummary[] {
  return loadRuns(ws(workspace, app)).map((r) => ({
    run_id: r.run_id,
    task: r.task,
    status: shownStatus(r),
    exit_code: r.exit_code,
    started_at: r.started_at,
    duration_ms: r.duration_ms,
    signed: r.signature !== null,
    consumed: [...new Set(r.lineage.map((l) => l.run_id))],
    metrics: r.metrics.final,
  }));
}

export function renderRuns(rows: RunSummary[]): string {
  if (!rows.length) return 'no runs recorded';
  return table([['RUN', 'TASK', 'STATUS', 'EXIT', 'SECONDS', 'SIGNED', 'CONSUMED'], ...rows.map((r) => [r.run_id, r.task, r.status, String(r.exit_code ?? '-'), r.duration_ms === null ? '-' : (r.duration_ms / 1000).toFixed(1), r.signed ? 'yes' : 'no', r.consumed.join(',') || '-'])]);
}

/** `mlcube runs show`: the whole record (status as shown). */
export function showRun(id: string, workspace: string | undefined, app: AppEnv): RunRecord & { shown_status: string } {
  const r = findRun(ws(workspace, app), id);
  return { ...r, shown_status: shownStatus(r) };
}

/** `mlcube runs compare`: parameters and final metrics of several runs side by side. */
export function compareRuns(ids: string[], workspace: string | undefined, app: AppEnv): { runs: string[]; rows: { key: string; values: (string | number | null)[] }[] } {
  if (ids.length < 1) throw new UsageError('runs compare needs at least one run id', { suggestions: ['e.g. `mlcube runs compare RUN1 RUN2 --workspace=W` (ids from `mlcube runs list`).'] });
  const runs = ids.map((id) => findRun(ws(workspace, app), id));
  const keys: string[] = [];
  const add = (k: string) => keys.includes(k) || keys.push(k);
  const cell = (r: RunRecord, k: string): string | number | null => {
    if (k === 'task') return r.task;
    if (k === 'status') return shownStatus(r);
    if (k.startsWith('param.')) {
      const p = r.parameters.find((x) => x.name === k.slice(6));
      return p ? `${p.host_path}${p.digest ? ` @${p.digest.sha256.slice(0, 12)}` : ''}` : null;
    }
    return r.metrics.final[k.slice(7)] ?? null;
  };
  ['task', 'status'].forEach(add);
  for (const r of runs) r.parameters.forEach((p) => add(`param.${p.name}`));
  for (const r of runs) Object.keys(r.metrics.final).forEach((m) => add(`metric.${m}`));
  return { runs: runs.map((r) => r.run_id), rows: keys.map((k) => ({ key: k, values: runs.map((r) => cell(r, k)) })) };
}

export function renderCompare(c: ReturnType<typeof compareRuns>): string {
  return table([['', ...c.runs], ...c.rows.map((r) => [r.key, ...r.values.map((v) => (v === null ? '-' : String(v)))])]);
}

function table(rows: string[][]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd()).join('\n');
}

/** `mlcube provenance verify <run|file>`: throws ProvenanceError listing every problem. */
export async function verifyProvenance(target: string, opts: { workspace?: string; publicKey?: string }, app: AppEnv): Promise<VerifyResult> {
  const asPath = isAbsolute(target) ? target : resolve(app.cwd, target);
  let dir = existsSync(asPath) ? runDirOf(asPath) : undefined;
  let record: RunRecord;
  if (dir) {
    try {
      record = JSON.parse(readFileSync(join(dir, RECORD_FILE), 'utf8')) as RunRecord;
    } catch {
      throw new ProvenanceError(`${join(dir, RECORD_FILE)} is not JSON`, { suggestions: ['The record was altered; re-run the task to get a fresh record.'] });
    }
  } else {
    record = findRun(ws(opts.workspace, app), target);
    dir = join(runsDir(ws(opts.workspace, app)), record.run_id);
  }
  const key = trustedPublicKey(opts.publicKey, app.env, app.home);
  const others = loadRuns(join(dir, '..', '..', '..'));
  const result = await verifyRun(dir, record, key?.key, others);
  if (!result.ok) {
    throw new ProvenanceError(`run ${record.run_id} does not verify (${result.problems.length} problem${result.problems.length > 1 ? 's' : ''}):\n  ${result.problems.join('\n  ')}`, {
      suggestions: ['Re-run the task(s) to produce fresh, signed outputs, or restore the files listed.'],
    });
  }
  return result;
}

/** `mlcube provenance export`: the lineage graph of a workspace (or around given runs). */
export function exportLineage(opts: { workspace?: string; runs?: string[]; maxDepth?: number; format: 'json' | 'dot' }, app: AppEnv): string {
  const w = ws(opts.workspace, app);
  const runs = loadRuns(w);
  const roots = (opts.runs ?? []).map((id) => findRun(w, id).run_id);
  const g: LineageGraph = lineageGraph(runs, roots, opts.maxDepth ?? Infinity);
  return opts.format === 'dot' ? toDot(g) : JSON.stringify(g, null, 2);
}

/** `mlcube keys generate`: a fresh Ed25519 pair; only the paths and key id are returned, never key material. */
export function generateKeyPair(opts: { dir?: string; force?: boolean }, app: AppEnv): { privateKey: string; publicKey: string; keyid: string } {
  return generateKeys(opts.dir ? resolve(app.cwd, opts.dir) : defaultKeyDir(app.home), opts.force === true);
}
