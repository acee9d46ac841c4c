import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { ProvenanceError, UsageError } from '../errors.js';
import type { AppEnv } from './context.js';
import { findRun, isTrashName, loadRuns, loadRunsChecked, runsDir, shownStatus } from '../provenance/store.js';
import { ENVELOPE_FILE, RECORD_FILE, RECORD_SCHEMA, type RunRecord } from '../provenance/record.js';
import { generateKeys, defaultKeyDir, trustedPublicKey } from '../provenance/keys.js';
import { signatureState, verifyRun, type VerifyResult, type VerifyTarget } from '../provenance/verify.js';
import { lineageGraph, toDot, type LineageGraph } from '../provenance/lineage.js';
import { reapKilledRuns } from './reap.js';
import { emptyTrash } from '../provenance/trash.js';
import { RECORDS_DIR } from '../params/isolation.js';
import { existingWorkspace, locateWorkspace, type WhereGiven, type WorkspaceLocation } from '../config/workspace-location.js';

export interface RunSummary {
  run_id: string;
  task: string;
  status: string;
  /** status cached: the run whose outputs it was given. */
  cached_from: string | null;
  exit_code: number | null;
  started_at: string;
  duration_ms: number | null;
  /** The envelope is a well-formed DSSE envelope by the key the record names (not verified: see provenance verify). */
  signed: boolean;
  signature: 'yes' | 'no' | 'invalid';
  consumed: string[];
  metrics: Record<string, number | string>;
  experiment: string | null;
  tags: Record<string, string>;
  sweep: { id: string; point: number | null } | null;
}

/** `runs list` filters: each given one must match (every tag). */
export interface RunFilter {
  experiment?: string;
  tags?: Record<string, string>;
  sweep?: string;
  task?: string;
  status?: string;
}

const STATUSES = ['running', 'succeeded', 'failed', 'interrupted', 'killed', 'timed_out'];

/** Whether a run passes the filters (its status as shown: a dead "running" one is killed). */
export function matchesFilter(r: RunRecord, f: RunFilter): boolean {
  if (f.status !== undefined && !STATUSES.includes(f.status)) {
    throw new UsageError(`--status=${f.status}: expected one of ${STATUSES.join(', ')}`, { suggestions: ['e.g. --status=failed'] });
  }
  return (
    (f.experiment === undefined || r.experiment === f.experiment) &&
    Object.entries(f.tags ?? {}).every(([k, v]) => r.tags?.[k] === v) &&
    (f.sweep === undefined || r.sweep?.id === f.sweep) &&
    (f.task === undefined || r.task === f.task) &&
    (f.status === undefined || shownStatus(r) === f.status)
  );
}

/** `mlcube runs list`: every run of a workspace; what killed runs left is cleaned up first and they read killed. */
export async function listRuns(given: WhereGiven, app: AppEnv, filter: RunFilter = {}): Promise<{ where: WorkspaceLocation; runs: RunSummary[]; filtered: boolean }> {
  const where = existingWorkspace(given, app);
  const w = where.dir;
  emptyTrash(w, app.log); // what a `runs delete` that crashed left
  const checked = loadRunsChecked(w);
  const reaped = await reapKilledRuns(w, app, checked.runs);
  const runs = checked.runs.map((r) => reaped.get(r.run_id) ?? r);
  const { skipped } = checked;
  if (skipped.length)
    app.log.warn(
      `${skipped.length} run director${skipped.length > 1 ? 'ies' : 'y'} in ${runsDir(w)} hold no valid ${RECORD_SCHEMA} record and are not listed (${skipped.slice(0, 3).join(', ')}${skipped.length > 3 ? ', ...' : ''}); \`mlcube provenance verify\` says why`,
    );
  const rows = runs
    .filter((r) => matchesFilter(r, filter))
    .map((r) => ({
      run_id: r.run_id,
      task: r.task,
      // A run the task cache answered did not run its task: it reads "cached" (README "Task cache").
      status: r.status === 'succeeded' && r.cache?.decision === 'hit' ? 'cached' : shownStatus(r),
      cached_from: r.cache?.decision === 'hit' ? (r.cache.of ?? null) : null,
      exit_code: r.exit_code,
      started_at: r.started_at,
      duration_ms: r.duration_ms,
      ...((st) => ({ signed: st === 'yes', signature: st }))(signatureState(join(runsDir(w), r.run_id), r)),
      consumed: [...new Set(r.lineage.map((l) => l.run_id))],
      metrics: r.metrics.final,
      experiment: r.experiment ?? null,
      tags: r.tags ?? {},
      sweep: r.sweep ? { id: r.sweep.id, point: r.sweep.point } : null,
    }));
  return { where, runs: rows, filtered: Object.values(filter).some((v) => v !== undefined) };
}

/** The table of runs; with none, where they were looked for (a workspace given wrongly is the usual reason). */
export function renderRuns({ where, runs: rows, filtered }: Awaited<ReturnType<typeof listRuns>>): string {
  if (!rows.length && filtered) return `no run in ${runsDir(where.dir)} matches the filters (\`mlcube runs list\` without them lists every run)`;
  if (!rows.length) return `no runs recorded in ${runsDir(where.dir)} (${where.origin}); pass the --workspace the runs used, or the --mlcube whose workspace they used`;
  return table([
    ['RUN', 'TASK', 'STATUS', 'EXIT', 'SECONDS', 'SIGNED', 'CONSUMED', 'EXPERIMENT', 'SWEEP'],
    ...rows.map((r) => [
      r.run_id,
      r.task,
      r.status,
      String(r.exit_code ?? '-'),
      r.duration_ms === null ? '-' : (r.duration_ms / 1000).toFixed(1),
      r.signature,
      r.consumed.join(',') || '-',
      r.experiment ?? '-',
      r.sweep ? `${r.sweep.id}#${r.sweep.point ?? 'shared'}` : '-',
    ]),
  ]);
}

/** `mlcube runs show`: the whole record (status as shown), after cleaning up after killed runs. */
export async function showRun(id: string, given: WhereGiven, app: AppEnv): Promise<RunRecord & { shown_status: string }> {
  const where = existingWorkspace(given, app);
  const w = where.dir;
  const found = findRun(w, id, where.origin);
  const r = (await reapKilledRuns(w, app, [found])).get(found.run_id) ?? found;
  return { ...r, shown_status: shownStatus(r) };
}

/** `mlcube runs compare`: parameters and final metrics of several runs side by side. */
export function compareRuns(ids: string[], given: WhereGiven, app: AppEnv): { runs: string[]; rows: { key: string; values: (string | number | null)[] }[] } {
  if (ids.length < 1) throw new UsageError('runs compare needs at least one run id', { suggestions: ['e.g. `mlcube runs compare RUN1 RUN2 --workspace=W` (ids from `mlcube runs list`).'] });
  const where = existingWorkspace(given, app);
  const runs = ids.map((id) => findRun(where.dir, id, where.origin));
  const keys: string[] = [];
  const add = (k: string) => keys.includes(k) || keys.push(k);
  const cell = (r: RunRecord, k: string): string | number | null => {
    if (k === 'task') return r.task;
    if (k === 'status') return shownStatus(r);
    if (k.startsWith('param.')) {
      const p = r.parameters.find((x) => x.name === k.slice(6));
      return p ? `${p.path}${p.digest ? ` @${p.digest.sha256.slice(0, 12)}` : ''}` : null;
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

export function table(rows: string[][]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(w[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/**
 * The run directory and workspace of what the user passed: a run directory (or its record.json / envelope) inside
 * `<workspace>/.mlcube/runs/`, whose workspace is the one checked, or a run id (exact, or a unique prefix of a run
 * directory's name) in the workspace --mlcube/--workspace name (as for `run`). Runs are found by directory, not by record, so a broken record still verifies
 * (and fails) instead of being "not found".
 */
export function verifyTargetOf(target: string, opts: WhereGiven & { cube?: string }, app: AppEnv): VerifyTarget {
  const asPath = isAbsolute(target) ? target : resolve(app.cwd, target);
  const cubeRoot = opts.cube ? resolve(app.cwd, opts.cube) : undefined;
  const st = statSync(asPath, { throwIfNoEntry: false });
  if (st) {
    const dir = st.isDirectory() ? asPath : [RECORD_FILE, ENVELOPE_FILE].includes(basename(asPath)) ? dirname(asPath) : undefined;
    const runs = dir ? dirname(dir) : undefined;
    if (!dir || !runs || basename(runs) !== 'runs' || basename(dirname(runs)) !== RECORDS_DIR) {
      throw new UsageError(`${asPath} is not a run directory (<workspace>/.mlcube/runs/<run id>, or its record.json)`, {
        suggestions: ['Pass a run directory, or a run id with --workspace=W (ids from `mlcube runs list`).'],
      });
    }
    const workspace = dirname(dirname(runs));
    // A workspace the command line names must be the run directory's (the default one, never named, is not checked).
    const named = opts.workspace || opts.mlcube !== undefined ? locateWorkspace(opts, app, { cube: 'if-needed' }) : undefined;
    if (named && named.dir !== workspace) {
      throw new UsageError(`the run directory ${dir} is in the workspace ${workspace}, not in ${named.dir} (${named.origin})`, {
        suggestions: ['Drop --workspace and --mlcube: the files checked are those of the workspace the run directory is in.'],
      });
    }
    return { dir, workspace, cubeRoot };
  }
  const where = existingWorkspace(opts, app);
  const workspace = where.dir;
  const dir = runsDir(workspace);
  const names = existsSync(dir)
    ? readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory() && !isTrashName(e.name))
        .map((e) => e.name)
    : [];
  const hits = names.includes(target)
    ? [target]
    : target === 'latest'
      ? loadRuns(workspace)
          .slice(-1)
          .map((r) => r.run_id)
      : names.filter((n) => n.startsWith(target) || n.endsWith(target));
  if (hits.length !== 1) {
    throw new UsageError(hits.length ? `run id "${target}" is ambiguous in ${dir} (${hits.join(', ')})` : `no run "${target}" in ${dir} (${where.origin}; ${names.length} run(s) there)`, {
      suggestions: [
        names.length ? 'List them with `mlcube runs list` (same --mlcube/--workspace) and pass a full id.' : 'Pass the --workspace (or --mlcube) the run used, or the run directory itself.',
      ],
    });
  }
  return { dir: join(dir, hits[0]), workspace, cubeRoot };
}

/** `mlcube provenance verify <run|dir>`: the result, verified or not (verifyFailure is the error of one that is not). */
export async function verifyProvenance(target: string, opts: WhereGiven & { publicKey?: string; cube?: string }, app: AppEnv): Promise<VerifyResult> {
  const where = verifyTargetOf(target, opts, app);
  await reapKilledRuns(where.workspace, app); // a killed run is verified as what it is: killed
  const key = trustedPublicKey(opts.publicKey, app.env, app.home);
  return verifyRun(where, key);
}

/** A run that does not verify: the ProvenanceError (exit 5) listing every problem. */
export function verifyFailure(result: VerifyResult): ProvenanceError {
  const anchor = result.trusted_key ? `trusted key ${result.trusted_key.keyid.slice(0, 16)} from ${result.trusted_key.source}` : 'no trusted key';
  return new ProvenanceError(
    `run ${result.run_id} in ${result.workspace} does not verify (${result.problems.length} problem${result.problems.length > 1 ? 's' : ''}; ${anchor}):\n  ${result.problems.join('\n  ')}`,
    {
      suggestions: [
        result.unsigned
          ? 'Runs are signed once a signing key exists: make one with `mlcube keys generate` (or point MLCUBE_SIGNING_KEY at an Ed25519 key), then re-run the task(s); `mlcube runs list` shows which runs are signed.'
          : 'Re-run the task(s) to produce fresh, signed outputs, or restore the files listed.',
      ],
    },
  );
}

/** `mlcube provenance export`: the lineage graph of a workspace (or around given runs). */
export function exportLineage(opts: WhereGiven & { runs?: string[]; maxDepth?: number; format: 'json' | 'dot' }, app: AppEnv): string {
  const where = existingWorkspace(opts, app);
  const w = where.dir;
  const runs = loadRuns(w);
  if (!runs.length) app.log.warn(`no runs recorded in ${runsDir(w)} (${where.origin}): the graph is empty; pass the --workspace the runs used, or the --mlcube whose workspace they used`);
  const roots = (opts.runs ?? []).map((id) => findRun(w, id, where.origin).run_id);
  const g: LineageGraph = lineageGraph(runs, roots, opts.maxDepth ?? Infinity);
  return opts.format === 'dot' ? toDot(g) : JSON.stringify(g, null, 2);
}

/** `mlcube keys generate`: a fresh Ed25519 pair; only the paths and key id are returned, never key material. */
export function generateKeyPair(opts: { dir?: string; force?: boolean }, app: AppEnv): { privateKey: string; publicKey: string; keyid: string } {
  return generateKeys(opts.dir ? resolve(app.cwd, opts.dir) : defaultKeyDir(app.home), opts.force === true);
}
