import { existsSync, readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { bootId, procStartTicks } from '../process-group.js';
import { UsageError } from '../errors.js';
import { checkSchema } from '../config/schemas.js';
import { ManifestError, parseManifest, sha256Hex, type TreeEntry } from './digest.js';
import { readRegularFile } from './safe-read.js';
import { manifestKey, RECORD_FILE, RECORD_SCHEMA, type RunRecord, type ShownStatus } from './record.js';
import { RECORDS_DIR } from '../params/isolation.js';

/** Where run records live: `<workspace>/.mlcube/runs/<run_id>/`. */
export const runsDir = (workspace: string) => join(workspace, RECORDS_DIR, 'runs');

/**
 * A run directory being deleted is first renamed to `.deleting-<run_id>` (src/provenance/trash.ts): a name no run
 * id has, so no command takes it for a run, whatever a crash left there.
 */
export const TRASH_PREFIX = '.deleting-';
export const isTrashName = (name: string) => name.startsWith(TRASH_PREFIX);

/** A record file parsed and checked against schemas/run-record.schema.json; any doubt is a problem, never a guess. */
export function readRecord(dir: string): { record: RunRecord; problems: [] } | { record: undefined; problems: string[] } {
  const f = join(dir, RECORD_FILE);
  const read = readRegularFile(f);
  if (!read.ok) return { record: undefined, problems: [`record: ${f} ${read.why}`] };
  let value: unknown;
  try {
    value = JSON.parse(read.data.toString('utf8'));
  } catch {
    return { record: undefined, problems: [`record: ${f} is not JSON`] };
  }
  const schema = (value as { schema?: unknown } | null)?.schema;
  if (typeof schema === 'string' && schema !== RECORD_SCHEMA && schema.startsWith('mlcube-run-record/')) {
    return { record: undefined, problems: [`record: ${f} is ${schema}, written by an older mlcube; this version verifies ${RECORD_SCHEMA} only (re-run the task for a new record)`] };
  }
  const problems = checkSchema('run-record.schema.json', value);
  if (problems.length) return { record: undefined, problems: problems.slice(0, 5).map((p) => `record: ${f} breaks schemas/run-record.schema.json at /${p.path.join('/')}: ${p.message}`) };
  return { record: value as RunRecord, problems: [] };
}

/** Every valid record of a workspace, oldest first; `skipped` counts the directories whose record is not one. */
export function loadRunsChecked(workspace: string): { runs: RunRecord[]; skipped: string[] } {
  const dir = runsDir(workspace);
  const runs: RunRecord[] = [];
  const skipped: string[] = [];
  if (!existsSync(dir)) return { runs, skipped };
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!e.isDirectory() || isTrashName(e.name)) continue;
    const r = readRecord(join(dir, e.name));
    if (r.record && r.record.run_id === e.name) runs.push(r.record);
    else skipped.push(e.name);
  }
  // Ids share a second-resolution prefix: order by the millisecond start time.
  runs.sort((a, b) => (a.started_at < b.started_at ? -1 : a.started_at > b.started_at ? 1 : a.run_id < b.run_id ? -1 : 1));
  return { runs, skipped };
}

export const loadRuns = (workspace: string): RunRecord[] => loadRunsChecked(workspace).runs;

/**
 * The manifests of a record's directory digests (and of its code digest), each read from the run directory,
 * checked against the digest the record holds (sha256 of the manifest = tree digest) and parsed strictly.
 */
export function readManifests(dir: string, record: RunRecord): { manifests: Map<string, TreeEntry[]>; code?: TreeEntry[]; problems: string[] } {
  const manifests = new Map<string, TreeEntry[]>();
  const problems: string[] = [];
  const load = (what: string, file: string, sha256: string, entries: number): TreeEntry[] | undefined => {
    const read = readRegularFile(join(dir, ...file.split('/')));
    if (!read.ok) return void problems.push(`${what}: its manifest ${file} ${read.why}`);
    const got = sha256Hex(read.data);
    if (got !== sha256) return void problems.push(`${what}: its manifest ${file} was altered (sha256 ${got.slice(0, 12)}, the record says ${sha256.slice(0, 12)})`);
    try {
      const parsed = parseManifest(read.data.toString('utf8'));
      if (parsed.length !== entries) return void problems.push(`${what}: its manifest ${file} lists ${parsed.length} entries, the record says ${entries}`);
      return parsed;
    } catch (e) {
      if (!(e instanceof ManifestError)) throw e;
      return void problems.push(`${what}: its manifest ${file} is malformed (${e.message})`);
    }
  };
  for (const p of record.parameters) {
    if (p.digest?.algorithm !== 'mlcube-tree-v1') continue;
    const m = load(`${p.io} ${p.name}`, p.digest.manifest!, p.digest.sha256, p.digest.entries!);
    if (m) manifests.set(manifestKey(p), m);
  }
  const code = record.cube.code ? load('cube code', record.cube.code.manifest, record.cube.code.sha256, record.cube.code.entries) : undefined;
  return { manifests, code, problems };
}

/**
 * A running record whose mlcube process is gone was killed (SIGKILL, power loss): it never finished. `isAlive`
 * replaces the whole liveness check (tests); by default it is mlcubeGone's.
 */
export function shownStatus(r: RunRecord, isAlive?: (pid: number) => boolean): ShownStatus {
  if (r.status !== 'running') return r.status;
  return (isAlive ? !isAlive(r.pid) : mlcubeGone(r)) ? 'killed' : r.status;
}

/** What liveness is judged from (injected by tests). */
export interface LivenessProbe {
  hostname: string;
  bootId: string | null;
  pidAlive(pid: number): boolean;
  startTicks(pid: number): number | null;
}

export const realLiveness = (): LivenessProbe => ({ hostname: hostname(), bootId: bootId(), pidAlive, startTicks: procStartTicks });

/** The mlcube process that ran a task, as its record (or its live marker, src/provenance/reaper.ts) tells it. */
export interface MlcubeProcess {
  hostname: string;
  pid: number;
  boot_id: string | null;
  pid_start: number | null;
}

export const recordProcess = (r: RunRecord): MlcubeProcess => ({ hostname: r.host.hostname, pid: r.pid, boot_id: r.reaping?.boot_id ?? null, pid_start: r.reaping?.pid_start ?? null });

/**
 * That mlcube process is provably gone: it ran on this host, and this is another boot, or its pid is dead, or that
 * pid now belongs to a later process (another start time). One of another host (a workspace shared with cluster
 * nodes) cannot be judged here: never gone.
 */
export function processGone(p: MlcubeProcess, probe: LivenessProbe = realLiveness()): boolean {
  if (p.hostname !== probe.hostname) return false;
  if (p.boot_id && probe.bootId && p.boot_id !== probe.bootId) return true;
  if (!probe.pidAlive(p.pid)) return true;
  if (p.pid_start === null) return false;
  const now = probe.startTicks(p.pid);
  return now !== null && now !== p.pid_start;
}

/** The mlcube that wrote a "running" record is provably gone (processGone). */
export const mlcubeGone = (r: RunRecord, probe?: LivenessProbe): boolean => processGone(recordProcess(r), probe);

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The run ids (of `ids`, oldest first) that `id` names: `latest`, an exact id, else every id it is a prefix or
 * suffix of (one hit: found; several: ambiguous; none: unknown).
 */
export function matchRunIds(ids: readonly string[], id: string): string[] {
  if (id === 'latest' && ids.length) return [ids[ids.length - 1]];
  if (ids.includes(id)) return [id];
  return ids.filter((r) => r.startsWith(id) || r.endsWith(id));
}

/** The error for an id that names no run, or several (`hits`), in a workspace holding `count` runs. */
export function runIdError(workspace: string, id: string, hits: readonly string[], origin: string, count: number): UsageError {
  return new UsageError(hits.length ? `run id "${id}" is ambiguous in ${runsDir(workspace)} (${hits.join(', ')})` : `no run "${id}" in ${runsDir(workspace)} (${origin}; ${count} run(s) there)`, {
    suggestions: [count ? 'List them with `mlcube runs list` (same --mlcube/--workspace) and pass a full id.' : 'Pass the --workspace (or --mlcube) the run used.'],
  });
}

/** A run by id or unique id prefix (or `latest`); `origin` says in errors how the workspace was chosen. */
export function findRun(workspace: string, id: string, origin: string): RunRecord {
  const runs = loadRuns(workspace);
  const hits = matchRunIds(
    runs.map((r) => r.run_id),
    id,
  );
  if (hits.length === 1) return runs.find((r) => r.run_id === hits[0])!;
  throw runIdError(workspace, id, hits, origin, runs.length);
}
