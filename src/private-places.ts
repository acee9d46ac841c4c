import { accessSync, constants, lstatSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { procStartTicks } from './process-group.js';

/**
 * A task's private places (README "Encrypted inputs and outputs"): where its encrypted inputs are decrypted and its
 * encrypted outputs written before they are sealed. Memory-backed (/dev/shm) where there is one, mode 0700, outside
 * the workspace; named after the mlcube process that made it (`mlcube-plain-<pid>-<start ticks>-XXXXXX`), so that
 * any later mlcube command can tell a killed owner's place and remove it (sweepPrivatePlaces).
 */
export const PRIVATE_PREFIX = 'mlcube-plain-';
const NAME = /^mlcube-plain-(\d+)-(\d+|x)-[A-Za-z0-9]{6}$/;

const SHM = '/dev/shm';

/** /dev/shm when it is a directory this user may write, else the temp directory. */
export function privateRoot(): string {
  try {
    if (statSync(SHM).isDirectory()) {
      accessSync(SHM, constants.W_OK | constants.X_OK);
      return SHM;
    }
  } catch {
    // No usable /dev/shm: the temp directory (disk-backed) instead.
  }
  return tmpdir();
}

/** A new private place of this process (mode 0700). */
export function makePrivatePlace(): string {
  const start = procStartTicks(process.pid);
  return mkdtempSync(join(privateRoot(), `${PRIVATE_PREFIX}${process.pid}-${start ?? 'x'}-`));
}

/** Removes a private place; never throws. */
export function removePrivatePlace(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    // A place that cannot be removed now is swept by the next mlcube command.
  }
}

/**
 * Removes the private places of mlcube processes that are gone (killed before they could clean up), in /dev/shm and
 * the temp directory: only directories of this user named as makePrivatePlace names them. Called by every mlcube
 * command before it starts. Returns what it removed; never throws.
 */
export function sweepPrivatePlaces(): string[] {
  const removed: string[] = [];
  const uid = process.getuid?.();
  for (const root of new Set([SHM, tmpdir()])) {
    let names: string[];
    try {
      names = readdirSync(root);
    } catch {
      continue;
    }
    for (const name of names) {
      const m = NAME.exec(name);
      if (!m) continue;
      const dir = join(root, name);
      const st = lstatSync(dir, { throwIfNoEntry: false });
      if (!st?.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
      const pid = Number(m[1]);
      const start = procStartTicks(pid);
      // Where /proc tells a process's start, a reused pid is told apart; elsewhere the pid being alive must do.
      const ownerAlive = m[2] === 'x' || start === null ? pidAlive(pid) : String(start) === m[2];
      if (ownerAlive) continue;
      removePrivatePlace(dir);
      removed.push(dir);
    }
  }
  return removed;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: alive, another user's.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
