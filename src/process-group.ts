import { readdirSync, readFileSync } from 'node:fs';

/**
 * Process facts from /proc (Linux), for telling a process apart from a later one that got the same pid, and for
 * stopping a task's whole process group. Off Linux every fact is null / empty: callers then act on nothing they
 * cannot prove.
 */

/** What /proc/<pid>/stat says of a process: its state letter, process group, and start time (field 22). */
export interface ProcStat {
  state: string;
  pgrp: number;
  /** Clock ticks since boot: with the boot id, it tells a process apart from any later one with its pid. */
  start: number;
}

/**
 * The fields of a /proc/<pid>/stat text from field 3 (state) on: the command name, field 2, may hold spaces and
 * parentheses, so they are what follows the last ')'. Undefined for a text with no ')'.
 */
export function statFields(text: string): string[] | undefined {
  const close = text.lastIndexOf(')');
  return close < 0 ? undefined : text.slice(close + 2).split(' ');
}

/** /proc/<pid>/stat parsed: state, process group, start time. */
export function parseProcStat(text: string): ProcStat | undefined {
  const f = statFields(text); // f[0] is field 3 (state)
  if (!f) return undefined;
  const pgrp = Number(f[2]);
  const start = Number(f[19]);
  if (!f[0] || !Number.isInteger(pgrp) || !Number.isInteger(start)) return undefined;
  return { state: f[0], pgrp, start };
}

export function procStat(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return undefined;
  }
}

/** The start time of a process (/proc/<pid>/stat field 22), null when it cannot be read. */
export function procStartTicks(pid: number): number | null {
  return procStat(pid)?.start ?? null;
}

let bootIdMemo: string | null | undefined;
/** This boot's id (/proc/sys/kernel/random/boot_id), null off Linux. */
export function bootId(): string | null {
  if (bootIdMemo === undefined) {
    try {
      bootIdMemo = readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim() || null;
    } catch {
      bootIdMemo = null;
    }
  }
  return bootIdMemo;
}

/**
 * The live (not zombie) members of a process group. A zombie is dead: under a PID 1 that does not reap orphans it
 * stays in the table, and signals do nothing to it. Without /proc: kill(-pgid, 0), which counts zombies.
 */
export function groupMembers(pgid: number): number[] {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return groupExistsByKill(pgid) ? [pgid] : [];
  }
  const out: number[] = [];
  for (const n of names) {
    if (!/^\d+$/.test(n)) continue;
    const st = procStat(Number(n));
    if (st && st.pgrp === pgid && st.state !== 'Z' && st.state !== 'X') out.push(Number(n));
  }
  return out;
}

function groupExistsByKill(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Sends `sig` to every process of the group; false when there was none (ESRCH). */
export function signalGroup(pgid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, sig);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * SIGTERM to the group, then SIGKILL to whatever of it is still alive `graceMs` later. Says how it ended: `gone`
 * (nothing was there), `terminated` (all gone within the grace) or `killed` (SIGKILL was needed).
 */
export async function stopGroup(pgid: number, graceMs: number, pollMs = 25): Promise<'gone' | 'terminated' | 'killed'> {
  if (!groupMembers(pgid).length || !signalGroup(pgid, 'SIGTERM')) return 'gone';
  const until = Date.now() + graceMs;
  while (Date.now() < until) {
    await sleep(pollMs);
    if (!groupMembers(pgid).length) return 'terminated';
  }
  signalGroup(pgid, 'SIGKILL');
  for (let i = 0; i < 40 && groupMembers(pgid).length; i++) await sleep(pollMs);
  return 'killed';
}
