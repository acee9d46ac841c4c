import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, sep } from 'node:path';
import type * as Lockfile from 'proper-lockfile';
import { mkdirWithMode, writeFileAtomic } from './atomic-write.js';
import { InterruptedError, OutputsBusyError, UsageError } from './errors.js';
import type { Logger } from './log.js';
import { RECORDS_DIR } from './params/isolation.js';

/**
 * Workspace locks (README "Concurrent runs"), all in `<workspace>/.mlcube/locks/`, all made with proper-lockfile
 * (mkdir-atomic lock directories whose holder refreshes their mtime; one not refreshed for LOCK_STALE_MS belongs to
 * a process that is gone, SIGKILL or power loss, and is taken over):
 * - `workspace.lock/`, the guard: held for milliseconds while a run reads the claims and adds its own, and while
 *   the producer index (.mlcube/runs/producers.jsonl) is appended or rebuilt;
 * - `run-<id>.json`, a claim: the absolute paths a `mlcube run` writes (outputs, workspace-sync targets) and reads
 *   (inputs), with its pid, host, tasks and the run record it is on; alive as long as `run-<id>.json.lock/` is
 *   fresh, held by the run from before it creates anything until it ends.
 * One table rather than a lock per output path: overlap is by containment (an output inside another's output
 * directory) and reads may be shared while writes may not; per-path locks can express neither.
 */

/** A lock not refreshed for this long is stale: its holder is gone. Long enough for a stalled event loop, short enough to wait out. */
export const LOCK_STALE_MS = 10_000;
/** How often a holder refreshes its locks' mtime (proper-lockfile's `update`): a holder stalled 8 s is still safe. */
export const LOCK_UPDATE_MS = 2_000;
/** How often a waiting run looks at the claims again. */
export const LOCK_POLL_MS = 200;

export const locksDir = (workspace: string) => join(workspace, RECORDS_DIR, 'locks');
const GUARD = 'workspace';
const CLAIM_FILE = /^run-[A-Za-z0-9_-]+\.json$/;
const CLAIM_SCHEMA = 'mlcube-claim/v1';

/** A path a run writes or reads, and why (for the messages). */
export interface ClaimedPath {
  /** Absolute, symlinks of its existing part resolved. */
  path: string;
  io: 'output' | 'input' | 'sync';
  task: string;
  parameter: string;
}

/** What `<locks>/run-<id>.json` holds. */
export interface Claim {
  schema: typeof CLAIM_SCHEMA;
  id: string;
  pid: number;
  host: string;
  started_at: string;
  tasks: string[];
  /** The task and run record it is on now (null before its first task starts). */
  task: string | null;
  run_id: string | null;
  writes: ClaimedPath[];
  reads: ClaimedPath[];
}

/** One reason two claims cannot hold at once. */
export interface Conflict {
  mine: ClaimedPath;
  theirs: ClaimedPath;
  holder: Claim;
}

type LockfileApi = Pick<typeof Lockfile, 'lock' | 'check'>;
let lockfileModule: Promise<LockfileApi> | undefined;
/** Loaded on first use: only commands that lock pay for it (~1 ms bundled: graceful-fs, retry, signal-exit). */
const lockfile = () => (lockfileModule ??= import('proper-lockfile').then((m): LockfileApi => m.default));

/** `a` is `b` or lies inside it. */
const within = (a: string, b: string) => a === b || a.startsWith(b.endsWith(sep) ? b : b + sep);
export const overlaps = (a: string, b: string) => within(a, b) || within(b, a);

/**
 * Why `mine` must wait for `theirs`: it writes what they write or read, or reads what they write. Reads of the
 * same path are shared: inputs are only read.
 */
export function conflicts(mine: Pick<Claim, 'writes' | 'reads'>, theirs: Claim): Conflict[] {
  const out: Conflict[] = [];
  const check = (as: readonly ClaimedPath[], bs: readonly ClaimedPath[]) => {
    for (const a of as) for (const b of bs) if (overlaps(a.path, b.path)) out.push({ mine: a, theirs: b, holder: theirs });
  };
  check(mine.writes, [...theirs.writes, ...theirs.reads]);
  check(mine.reads, theirs.writes);
  return out;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((res, rej) => {
    if (signal?.aborted) return rej(signal.reason);
    const onAbort = () => {
      clearTimeout(t);
      rej(signal!.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      res();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** A lock error other than "held by another" (EACCES, EROFS...): the workspace is not writable. */
function notWritable(dir: string, e: unknown): UsageError {
  const err = e as NodeJS.ErrnoException;
  return new UsageError(`cannot lock the workspace: ${dir} (${err.code ?? err.message}); mlcube run writes its locks and records there`, {
    cause: e,
    suggestions: ['Make the workspace writable by this user, or pass --workspace=<a writable directory>.'],
  });
}

const lockOptions = (file: string, onCompromised: (e: Error) => void): Lockfile.LockOptions => ({
  lockfilePath: `${file}.lock`,
  realpath: false,
  stale: LOCK_STALE_MS,
  update: LOCK_UPDATE_MS,
  onCompromised,
});

/** The guard is not re-entrant across processes: within one process its users are queued. */
let guardQueue: Promise<unknown> = Promise.resolve();

/**
 * Runs `work` holding the workspace guard (held for milliseconds by everyone: waiting for it is a short spin; a
 * guard left by a killed process is taken over once stale).
 */
export function withWorkspaceGuard<T>(workspace: string, work: () => T | Promise<T>, signal?: AbortSignal): Promise<T> {
  const run = guardQueue.then(() => guarded(workspace, work, signal));
  guardQueue = run.catch(() => undefined);
  return run;
}

async function guarded<T>(workspace: string, work: () => T | Promise<T>, signal?: AbortSignal): Promise<T> {
  const dir = locksDir(workspace);
  const lf = await lockfile();
  const file = join(dir, GUARD);
  let release: () => Promise<void>;
  for (;;) {
    if (signal?.aborted) throw signal.reason;
    try {
      mkdirWithMode(dir);
      // Held for milliseconds: a compromise (this process stalled 10 s inside `work`) is noticed by no one.
      release = await lf.lock(
        file,
        lockOptions(file, () => undefined),
      );
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ELOCKED') throw notWritable(dir, e);
      await sleep(2 + Math.random() * 8, signal);
    }
  }
  try {
    return await work();
  } finally {
    await release().catch(() => undefined);
  }
}

/**
 * The live claims of the workspace; with `clean`, dead ones (lock missing or stale) are removed, through
 * proper-lockfile (their stale lock is taken over, then released), so only one process removes each.
 */
async function liveClaims(dir: string, clean: boolean, log: Logger): Promise<Claim[]> {
  const lf = await lockfile();
  const names = existsSync(dir) ? readdirSync(dir) : [];
  const live: Claim[] = [];
  for (const name of names) {
    const file = join(dir, name);
    const orphanLock = name.endsWith('.json.lock') && CLAIM_FILE.test(name.slice(0, -'.lock'.length)) && !names.includes(name.slice(0, -'.lock'.length));
    if (orphanLock) {
      // A claim's lock without its claim: released (the claim goes first) or its holder died in between.
      if (clean) await removeDead(file.slice(0, -'.lock'.length), log);
      continue;
    }
    if (!CLAIM_FILE.test(name)) continue;
    if (
      !(await lf.check(
        file,
        lockOptions(file, () => undefined),
      ))
    ) {
      if (clean) await removeDead(file, log);
      continue;
    }
    let claim: Claim;
    try {
      claim = JSON.parse(readFileSync(file, 'utf8')) as Claim;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile
      log.warn(`ignoring ${file}: not a claim this mlcube can read (${(e as Error).message})`);
      continue;
    }
    if (claim.schema === CLAIM_SCHEMA && Array.isArray(claim.writes) && Array.isArray(claim.reads)) live.push(claim);
    else log.warn(`ignoring ${file}: not a ${CLAIM_SCHEMA} claim`);
  }
  return live;
}

async function removeDead(file: string, log: Logger): Promise<void> {
  const lf = await lockfile();
  let release: () => Promise<void>;
  try {
    release = await lf.lock(
      file,
      lockOptions(file, () => undefined),
    );
  } catch {
    return; // alive after all, or someone else is removing it
  }
  const claim = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  rmSync(file, { force: true });
  await release().catch(() => undefined);
  if (claim) log.info(`removed the claim of a run that is gone (its lock was not refreshed for ${LOCK_STALE_MS / 1000} s): ${file}`);
}

/** "run <id> (pid N on host, tasks a,b, now on a, since T)". */
export function describeHolder(c: Claim): string {
  const id = c.run_id ?? (c.task ? '(unrecorded)' : '(starting)');
  return `run ${id} (pid ${c.pid} on ${c.host}, tasks ${c.tasks.join(',')}${c.task ? `, now on ${c.task}` : ''}, since ${c.started_at})`;
}

const verb = (p: ClaimedPath) => (p.io === 'input' ? 'reads' : 'writes');
const what = (p: ClaimedPath) => `${p.io === 'sync' ? 'workspace-sync copy of input' : p.io} ${p.parameter} of task ${p.task}`;

/** One line saying who holds what this run needs, and how the two paths meet. */
export function describeConflict(c: Conflict): string {
  const { mine, theirs } = c;
  const where = mine.path === theirs.path ? 'it too' : within(mine.path, theirs.path) ? `${mine.path} inside it` : `${mine.path}, which holds it`;
  return `${describeHolder(c.holder)} ${verb(theirs)} ${theirs.path} (${what(theirs)}); this run ${verb(mine)} ${where} (${what(mine)})`;
}

export interface ClaimOptions {
  workspace: string;
  tasks: string[];
  writes: ClaimedPath[];
  reads: ClaimedPath[];
  /** false (--no-wait): a conflict fails at once with OutputsBusyError instead of waiting. */
  wait: boolean;
  signal: AbortSignal;
  log: Logger;
  /** Called if the claim is lost while held (another process judged it stale): the run must stop. */
  onLost: (e: OutputsBusyError) => void;
}

/** A claim held by this process: kept fresh by proper-lockfile until released. */
export interface HeldClaim {
  readonly file: string;
  /** Set when the claim was lost while held (see ClaimOptions.onLost). */
  readonly lost: OutputsBusyError | undefined;
  /** Which task and run record the run is on now (shown to runs that wait for it). */
  update(now: { task: string; runId?: string }): void;
  /** Idempotent; never throws. */
  release(): Promise<void>;
}

const stamp = () => new Date().toISOString().replace(/[-:.]/g, '');

/**
 * Claims `writes` and `reads` for a run: waits (a message on stderr each time the holder it waits for changes)
 * while a live claim conflicts, or with `wait: false` throws OutputsBusyError naming the holder; nothing else
 * is written before the claim is held. Ctrl-C while waiting rejects with InterruptedError.
 */
export async function claimPaths(opts: ClaimOptions): Promise<HeldClaim> {
  const dir = locksDir(opts.workspace);
  const id = `${stamp()}-${process.pid}-${Math.floor(Math.random() * 0x1000000)
    .toString(16)
    .padStart(6, '0')}`;
  const file = join(dir, `run-${id}.json`);
  const claim: Claim = {
    schema: CLAIM_SCHEMA,
    id,
    pid: process.pid,
    host: hostname(),
    started_at: new Date().toISOString(),
    tasks: opts.tasks,
    task: null,
    run_id: null,
    writes: opts.writes,
    reads: opts.reads,
  };
  const lf = await lockfile();
  let release: (() => Promise<void>) | undefined;
  let lost: OutputsBusyError | undefined;
  const onExit = () => rmSync(file, { force: true }); // proper-lockfile removes its lock directory on exit, the claim goes too
  const drop = async () => {
    process.off('exit', onExit);
    rmSync(file, { force: true }); // the claim first: a lock without its claim is no claim
    const r = release;
    release = undefined;
    await r?.().catch(() => undefined);
  };
  const onCompromised = (e: Error) => {
    if (!release) return;
    lost = new OutputsBusyError(
      `this run's claim ${file} on its paths was lost (${e.message}): another process removed or took it over (a claim not refreshed for ${LOCK_STALE_MS / 1000} s is taken over: this process stalled, or the machine slept), so another run may now be writing them; the task was stopped`,
      { cause: e, suggestions: ['Re-run the task(s) once no other run writes these outputs (`ls ' + dir + '` shows the claims).'] },
    );
    release = undefined;
    rmSync(file, { force: true });
    process.off('exit', onExit);
    opts.onLost(lost);
  };
  const interrupted = () => new InterruptedError(`interrupted while waiting for the workspace lock in ${dir}`);
  let shown = '';
  for (;;) {
    if (opts.signal.aborted) throw interrupted();
    let found: Conflict[];
    try {
      found = await withWorkspaceGuard(
        opts.workspace,
        async () => {
          const blocking = (await liveClaims(dir, true, opts.log)).flatMap((c) => conflicts(claim, c));
          if (blocking.length) return blocking;
          try {
            release = await lf.lock(file, lockOptions(file, onCompromised));
            process.on('exit', onExit);
            writeFileAtomic(file, JSON.stringify(claim, null, 2) + '\n', 0o644, false);
          } catch (e) {
            await drop();
            throw notWritable(dir, e);
          }
          return [];
        },
        opts.signal,
      );
    } catch (e) {
      if (opts.signal.aborted) throw interrupted();
      throw e;
    }
    if (!found.length) {
      // Belt and braces: two processes that take over one stale guard at once both get it (proper-lockfile#121).
      // Claims are only added under the guard, so a conflicting claim seen now means that happened: step back.
      found = (await liveClaims(dir, false, opts.log)).filter((c) => c.id !== id).flatMap((c) => conflicts(claim, c));
      if (!found.length) break;
      opts.log.debug(`stepping back: ${describeConflict(found[0])} (claimed at the same time)`);
      await drop();
    }
    if (!opts.wait) {
      const c = found[0];
      throw new OutputsBusyError(`${describeConflict(c)}; not waiting (--no-wait), nothing was changed`, {
        place: { task: c.mine.task, parameter: c.mine.parameter },
        suggestions: [`Run again without --no-wait to wait for pid ${c.holder.pid} to finish, or give this run other paths (e.g. ${c.mine.parameter}=<another path>).`],
      });
    }
    const text = describeConflict(found[0]);
    if (text !== shown) opts.log.warn(`waiting for ${text} (Ctrl-C stops waiting; --no-wait fails at once instead)`);
    shown = text;
    try {
      await sleep(LOCK_POLL_MS * (0.5 + Math.random()), opts.signal);
    } catch {
      throw interrupted();
    }
  }
  return {
    file,
    get lost() {
      return lost;
    },
    update(now) {
      if (!release) return;
      claim.task = now.task;
      claim.run_id = now.runId ?? null;
      writeFileAtomic(file, JSON.stringify(claim, null, 2) + '\n', 0o644, false);
    },
    release: drop,
  };
}
