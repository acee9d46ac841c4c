import { lstatSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { hostname } from 'node:os';
import { mkdirWithMode, writeFileAtomic } from '../atomic-write.js';
import type { Logger } from '../log.js';
import { groupMembers, procStat, stopGroup } from '../process-group.js';
import { RECORD_FILE, type RunRecord } from './record.js';
import { processGone, readRecord, realLiveness, recordProcess, runsDir, type LivenessProbe, type MlcubeProcess } from './store.js';
import { RECORDS_DIR } from '../params/isolation.js';

/**
 * Cleaning up after runs whose mlcube was killed (SIGKILL, OOM killer, power loss) while the task ran: their
 * container or task process group may still be running and writing into the workspace, their metrics directory is
 * left in the temp directory, and their record still says "running". The next mlcube command on the workspace
 * (run, runs list/show, provenance verify) stops and removes what such a run left and rewrites its record as
 * `killed`. Live runs are never touched (store.ts processGone); a run that cannot be cleaned up now is left
 * "running" with a warning, for a later command to retry.
 *
 * Which runs to look at: each running record has a marker `<workspace>/.mlcube/live/<run_id>` (the mlcube
 * process, as JSON) from the moment it is written until its final record is, so `mlcube run` finds the candidates
 * with one readdir instead of reading every record; `runs list`, which reads them all anyway, passes them too.
 */

/** Where the live markers are. */
export const liveDir = (workspace: string) => join(workspace, RECORDS_DIR, 'live');

/** Marks a run live (its running record is on disk); best effort: without it only `runs list` finds the run. */
export function markLive(workspace: string, runId: string, proc: MlcubeProcess, log: Logger): void {
  try {
    mkdirWithMode(liveDir(workspace));
    writeFileAtomic(join(liveDir(workspace), runId), JSON.stringify(proc) + '\n', 0o644, false);
  } catch (e) {
    log.warn(`could not write the live marker of run ${runId} in ${liveDir(workspace)}: ${(e as Error).message} (if this mlcube is killed, \`mlcube runs list\` still cleans up after it)`);
  }
}

export function unmarkLive(workspace: string, runId: string): void {
  rmSync(join(liveDir(workspace), runId), { force: true });
}

/** What the reaper does to the world (replaced by tests). */
export interface ReapActions {
  probe: LivenessProbe;
  /** Force-removes the containers labelled with the run id on that daemon; the names removed. */
  removeContainers(runId: string, dockerHost: string): Promise<string[]>;
  stopGroup(pgid: number, graceMs: number): Promise<'gone' | 'terminated' | 'killed'>;
  /** The live processes of a group, and whether one's environment says it belongs to the run. */
  groupMembers(pgid: number): number[];
  startTicks(pid: number): number | null;
  hasRunId(pid: number, runId: string): boolean;
  now(): Date;
}

/** How long a killed run's task group gets between SIGTERM and SIGKILL (as long as a Ctrl-C'd run's). */
export const REAP_GRACE_MS = 5000;

export interface ReapOptions {
  log: Logger;
  /** Records already read (runs list): every running one whose mlcube is gone is a candidate, marker or not. */
  known?: readonly RunRecord[];
  /** The docker runner's container removal (runners/index.ts); absent: docker runs are left for a command that has it. */
  removeContainers?: ReapActions['removeContainers'];
  actions?: Partial<ReapActions>;
}

const RUN_ID = /^[0-9]{8}T[0-9]{6}Z-[A-Za-z0-9_.-]+-[0-9a-f]{6}$/;

/**
 * Cleans up after every killed run of the workspace (see above). Never throws: what it cannot do is a warning.
 * Returns the records it rewrote as killed, by run id.
 */
export async function reapWorkspace(workspace: string, opts: ReapOptions): Promise<Map<string, RunRecord>> {
  const reaped = new Map<string, RunRecord>();
  try {
    const act = realActions(opts);
    const candidates = new Set<string>();
    for (const name of listMarkers(workspace)) {
      const proc = readMarker(workspace, name);
      // A marker of a live mlcube: nothing to read (the usual case for a concurrent run).
      if (proc && !processGone(proc, act.probe)) continue;
      candidates.add(name);
    }
    for (const r of opts.known ?? []) if (r.status === 'running' && processGone(recordProcess(r), act.probe)) candidates.add(r.run_id);
    for (const id of candidates) {
      try {
        const r = await reapRun(workspace, id, act, opts.log);
        if (r) reaped.set(id, r);
      } catch (e) {
        opts.log.warn(`could not clean up after run ${id} in ${runsDir(workspace)}: ${(e as Error).message} (left as it is; a later mlcube command retries)`);
      }
    }
  } catch (e) {
    opts.log.warn(`could not look for killed runs in ${workspace}: ${(e as Error).message}`);
  }
  return reaped;
}

function listMarkers(workspace: string): string[] {
  try {
    return readdirSync(liveDir(workspace)).filter((n) => RUN_ID.test(n));
  } catch {
    return []; // no live directory: no run of this version ever ran here, or none is running
  }
}

function readMarker(workspace: string, name: string): MlcubeProcess | undefined {
  try {
    const v = JSON.parse(readFileSync(join(liveDir(workspace), name), 'utf8'));
    if (typeof v?.hostname === 'string' && Number.isInteger(v.pid)) return { hostname: v.hostname, pid: v.pid, boot_id: v.boot_id ?? null, pid_start: v.pid_start ?? null };
  } catch {
    // unreadable: the record decides
  }
  return undefined;
}

/** One candidate: re-read (its mlcube may have finished meanwhile), clean up, rewrite. */
async function reapRun(workspace: string, id: string, act: ReapActions, log: Logger): Promise<RunRecord | undefined> {
  const dir = join(runsDir(workspace), id);
  // Read after the liveness check that made it a candidate: a dead mlcube writes no more, so what is read now is
  // its last word (a run that finished meanwhile reads succeeded/failed here and is left alone).
  const read = readRecord(dir);
  if (!read.record) {
    unmarkLive(workspace, id);
    log.debug(`live marker of run ${id} without a valid record (${read.problems[0]}): marker removed`);
    return undefined;
  }
  const r = read.record;
  if (r.status !== 'running') {
    unmarkLive(workspace, id);
    return undefined;
  }
  if (!processGone(recordProcess(r), act.probe)) return undefined;
  const actions: string[] = [];
  const facts = r.reaping;
  const dockerHost = facts?.docker_host ?? null;
  if (dockerHost !== null) {
    const names = await act.removeContainers(id, dockerHost);
    actions.push(names.length ? `removed container${names.length > 1 ? 's' : ''} ${names.join(', ')} (labelled org.mlcommons.mlcube.run-id=${id})` : 'no container of it was left');
  }
  if (facts?.task_pgid) actions.push(await stopTaskGroup(r, facts.task_pgid, facts.task_start, act, log));
  if (facts?.metrics_dir) actions.push(removeMetricsDir(facts.metrics_dir, log));
  const at = act.now().toISOString();
  const killed: RunRecord = {
    ...r,
    status: 'killed',
    exit_code: null,
    error: `mlcube (pid ${r.pid}) was killed while the task ran; found gone at ${at} by mlcube pid ${process.pid}`,
    reaped: { at, by_pid: process.pid, actions },
  };
  // Only a record that is still the running one is replaced (checked again: another reaper may have been first).
  if (readRecord(dir).record?.status !== 'running') return undefined;
  writeFileAtomic(join(dir, RECORD_FILE), JSON.stringify(killed, null, 2) + '\n');
  unmarkLive(workspace, id);
  log.warn(`run ${id} (task "${r.task}", ${r.runner}) was killed with its mlcube (pid ${r.pid}): ${actions.join('; ') || 'nothing of it was left'}; its record now says killed`);
  return killed;
}

/**
 * The local task's process group, stopped only when it provably is the run's: its leader has the recorded start
 * time (a pid reused since has another), or, the leader gone, every live member's environment holds the run's
 * MLCUBE_RUN_ID. A group that cannot be proven is left alone, with a warning naming it.
 */
async function stopTaskGroup(r: RunRecord, pgid: number, start: number | null, act: ReapActions, log: Logger): Promise<string> {
  const bootNow = act.probe.bootId;
  if (r.reaping?.boot_id && bootNow && r.reaping.boot_id !== bootNow) return `process group ${pgid} ended with the previous boot`;
  const members = act.groupMembers(pgid);
  if (!members.length) return `process group ${pgid} had already ended`;
  const leaderStart = act.startTicks(pgid);
  if (leaderStart !== null) {
    // The leader is there: a reused pid cannot lead our group while any of it lives, so a mismatch means it ended.
    if (start === null || leaderStart !== start)
      return start === null ? leftAlone(pgid, 'its start time was not recorded', log) : `process group ${pgid} had already ended (pid ${pgid} is now another process)`;
  } else {
    if (!members.every((pid) => act.hasRunId(pid, r.run_id))) return leftAlone(pgid, `its leader is gone and not every member's environment holds MLCUBE_RUN_ID=${r.run_id}`, log);
  }
  const how = await act.stopGroup(pgid, REAP_GRACE_MS);
  return how === 'gone'
    ? `process group ${pgid} had already ended`
    : how === 'terminated'
      ? `stopped process group ${pgid} (SIGTERM)`
      : `killed process group ${pgid} (SIGKILL ${REAP_GRACE_MS / 1000} s after SIGTERM)`;
}

function leftAlone(pgid: number, why: string, log: Logger): string {
  log.warn(`process group ${pgid} may be a killed run's task, but ${why}: left alone; if it is, stop it with: kill -TERM -${pgid}`);
  return `left process group ${pgid} alone (${why})`;
}

/** The run's metrics directory, only if it looks like one the recorder made (a record is no licence to rm -r). */
function removeMetricsDir(path: string, log: Logger): string {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st) return 'its metrics directory was already gone';
  const ownedByUs = process.getuid === undefined || st.uid === process.getuid();
  if (!/^mlcube-metrics-[A-Za-z0-9]{6}$/.test(basename(path)) || !st.isDirectory() || !ownedByUs) {
    log.warn(`the record names ${path} as its metrics directory, but that is not a mlcube-metrics-XXXXXX directory of this user: left alone`);
    return `left ${path} alone (not a metrics directory of this user)`;
  }
  rmSync(path, { recursive: true, force: true });
  return `removed its metrics directory ${path}`;
}

function realActions(opts: ReapOptions): ReapActions {
  return {
    probe: realLiveness(),
    removeContainers:
      opts.removeContainers ??
      (async (id, host) => {
        throw new Error(`its containers (label org.mlcommons.mlcube.run-id=${id}, daemon ${host}) can only be removed by a command that loads the docker runner`);
      }),
    stopGroup,
    groupMembers,
    startTicks: (pid) => procStat(pid)?.start ?? null,
    hasRunId: (pid, runId) => {
      try {
        return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`MLCUBE_RUN_ID=${runId}`);
      } catch {
        return false;
      }
    },
    now: () => new Date(),
    ...opts.actions,
  };
}

/** The mlcube process writing a record now (its live marker and the record's reaping facts). */
export function thisMlcube(probe: LivenessProbe = realLiveness()): MlcubeProcess {
  return { hostname: hostname(), pid: process.pid, boot_id: probe.bootId, pid_start: probe.startTicks(process.pid) };
}
