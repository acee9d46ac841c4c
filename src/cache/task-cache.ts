import { readFileSync, readlinkSync, renameSync, symlinkSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Logger } from '../log.js';
import type { PlannedTask } from '../plan/run-plan.js';
import { writeFileAtomic } from '../atomic-write.js';
import { digestPath, type TreeEntry } from '../provenance/digest.js';
import { DigestMemo } from '../provenance/digest-memo.js';
import { manifestKey, METRICS_FILE, type RecordedParam, type RunRecord } from '../provenance/record.js';
import { loadRuns, readManifests, runsDir } from '../provenance/store.js';
import { entryFile, entryRecord, readEntry, writeEntry } from './entries.js';
import { paramDigestOptions, recordedPath } from '../provenance/paths.js';
import { METRICS_FILE_NAME } from '../runner.js';
import type { Tree } from '../config/tree.js';
import { declaredPaths, type PathContext } from '../params/resolve.js';
import { changedParts, type CacheKey } from './key.js';
import { ObjectStore } from './store.js';
import { cacheDir, type CacheSettings } from './settings.js';
import { enforceLimit } from './gc.js';

/** What the record keeps of the cache's decision (record.cache, README "Task cache"). */
export interface CacheFacts extends CacheKey {
  decision: 'hit' | 'miss' | 'off';
  /** Why, in words (shown at --log-level=info). */
  reason: string;
  /** A hit: the run whose outputs these are. */
  of?: string;
  /** A hit: what was put back from the store (paths relative to the workspace). */
  restored?: string[];
}

/** One step of putting a cached run's outputs back. */
type Step = { kind: 'file'; sha256: string; dest: string } | { kind: 'link'; target: Buffer; dest: string } | { kind: 'dir'; dest: string };

export interface CacheHit {
  of: RunRecord;
  /** The original run's directory (its metrics file is the cached run's). */
  ofDir: string;
  steps: Step[];
  /** Files that differ from the cached run's and are moved aside before being restored. */
  replaced: string[];
  /** Shared output directories' files that differ and are left as they are (another task writes there too). */
  kept: string[];
}

export type Decision = { decision: 'off' | 'miss'; reason: string } | ({ decision: 'hit'; reason: string } & CacheHit);

/**
 * The task cache of one run (README "Task cache"): decides from a task's key whether an earlier successful run made
 * its outputs already, puts them back from the store when they were deleted or changed, and remembers the outputs
 * of each task that ran. Anything in doubt (an entry, record, manifest or object that does not check out) is a miss:
 * the task runs.
 */
export class TaskCache {
  readonly memo: DigestMemo | undefined;
  readonly store: ObjectStore;

  constructor(
    readonly settings: CacheSettings,
    private readonly workspace: string,
    /** Host paths that more than one task of the cube writes (e.g. logs/): restored files there never replace what is there. */
    private readonly sharedOutputs: ReadonlySet<string>,
    private readonly log: Logger,
    /** `run --dry-run`: decide, change nothing (a damaged object is not removed). */
    private readonly readOnly = false,
  ) {
    this.memo = settings.enabled ? DigestMemo.load(join(cacheDir(workspace), 'digests.json')) : undefined;
    this.store = new ObjectStore(settings.storeDir, settings.link);
  }

  /** Whether this task's outputs can be taken from an earlier run; `key` is its key now (record.cache). */
  async decide(task: PlannedTask, key: CacheKey, now: Pick<RunRecord, 'parameters' | 'image'>): Promise<Decision> {
    if (!this.settings.enabled) return { decision: 'miss', reason: '--no-cache' };
    if (!task.cache) return { decision: 'off', reason: `cache: false in tasks.${task.name}` };
    const entry = readEntry(entryFile(this.workspace, key.key));
    if (!entry || entry.key !== key.key || entry.task !== task.name) return { decision: 'miss', reason: this.whyMiss(task.name, key, now) };
    const of = entryRecord(this.workspace, entry);
    if (!of) return { decision: 'miss', reason: `the run its outputs came from (${entry.run_id}) is gone or no longer matches` };
    const dir = join(runsDir(this.workspace), of.run_id);
    const manifests = readManifests(dir, of);
    if (manifests.problems.length) return { decision: 'miss', reason: `the record of ${of.run_id} does not check out (${manifests.problems[0]})` };
    const plan = await this.restorePlan(task, of, manifests.manifests);
    if (typeof plan === 'string') return { decision: 'miss', reason: plan };
    const files = plan.steps.filter((s) => s.kind !== 'dir').length;
    const what = files ? `; restoring ${files} file(s) from the store` : '; its outputs are in place';
    return { decision: 'hit', reason: `same code, configuration and inputs as run ${of.run_id}${what}`, ...plan, of, ofDir: dir };
  }

  /** Why there is no entry: which part of the key changed since the latest recorded run of the task, if any. */
  private whyMiss(task: string, key: CacheKey, now: Pick<RunRecord, 'parameters' | 'image'>): string {
    const earlier = loadRuns(this.workspace)
      .filter((r) => r.task === task && r.status === 'succeeded' && r.cache)
      .pop();
    if (!earlier?.cache) return 'no earlier run of this task to reuse';
    const short = (d: string | null | undefined) => (d ? d.replace(/^sha256:/, '').slice(0, 12) : 'none');
    const input = (r: Pick<RunRecord, 'parameters'>, name: string) => r.parameters.find((p) => p.io === 'input' && p.name === name)?.digest?.sha256;
    // The digests that differ, where the part is one digest: an input's, the image's.
    const changed = changedParts(key, earlier.cache).map((c) => {
      const m = /^input (\S+)$/.exec(c);
      if (m) return `${c} (sha256 ${short(input(earlier, m[1]))} then, ${short(input(now, m[1]))} now)`;
      if (c === 'the image') return `${c} (${short(earlier.image?.digest)} then, ${short(now.image?.digest)} now)`;
      return c;
    });
    return changed.length ? `${changed.join(', ')} changed since run ${earlier.run_id}` : `run ${earlier.run_id} had the same key, but its outputs are no longer in the cache`;
  }

  /** What must be put back for the task's outputs to be the cached run's; a string: why that cannot be done (a miss). */
  private async restorePlan(task: PlannedTask, of: RunRecord, manifests: ReadonlyMap<string, readonly TreeEntry[]>): Promise<Omit<CacheHit, 'of' | 'ofDir'> | string> {
    const steps: Step[] = [];
    const replaced: string[] = [];
    const kept: string[] = [];
    const missing: string[] = [];
    const want = async (sha256: string, dest: string) => {
      if (!(await this.store.verified(sha256, this.memo, this.readOnly))) missing.push(dest);
      steps.push({ kind: 'file', sha256, dest });
    };
    for (const p of task.params) {
      if (p.io !== 'output') continue;
      const o = of.parameters.find((x) => x.io === 'output' && x.name === p.name);
      if (!o) return `run ${of.run_id} has no output ${p.name}`;
      if (!o.digest) continue; // the task did not make it then: nothing to restore
      const now = await digestPath(p.hostPath, { ...paramDigestOptions(p.hostPath, this.workspace), memo: this.memo });
      if (now.sha256 === o.digest.sha256 && now.type === (o.found as string)) continue;
      if (o.found === 'file') {
        if (now.type !== 'missing') replaced.push(p.hostPath);
        await want(o.digest.sha256, p.hostPath);
        continue;
      }
      if (o.found !== 'directory') return `output ${p.name} of run ${of.run_id} was a ${o.found}`;
      if (now.type !== 'directory' && now.type !== 'missing') return `output ${p.name} (${p.hostPath}) is a ${now.type} now, not a directory`;
      const shared = this.sharedOutputs.has(resolve(p.hostPath));
      const current = new Map((now.entries ?? []).map((e) => [e.path, e]));
      steps.push({ kind: 'dir', dest: p.hostPath });
      for (const e of manifests.get(manifestKey(o as RecordedParam)) ?? []) {
        const dest = join(p.hostPath, ...e.path.split('/'));
        const c = current.get(e.path);
        if (c && c.type === e.type && c.sha256 === e.sha256) continue;
        if (e.type === 'dir') {
          if (c && c.type !== 'dir') return `${dest} is a ${c.type} now, the cached run made a directory there`;
          steps.push({ kind: 'dir', dest });
          continue;
        }
        if (e.type === 'other') return `run ${of.run_id} left a FIFO, socket or device at ${dest}: it cannot be restored`;
        if (c && shared) {
          kept.push(dest); // another task writes this directory too: what is there now is left alone
          continue;
        }
        if (c && c.type === 'dir') return `${dest} is a directory now, the cached run made a ${e.type} there`;
        if (c) replaced.push(dest);
        if (e.type === 'file') await want(e.sha256!, dest);
        else {
          const target = this.store.readBytes(e.sha256!);
          if (!target) missing.push(dest);
          else steps.push({ kind: 'link', target, dest });
        }
      }
    }
    if (missing.length) return `the store lacks (or holds damaged) ${missing.length} of the cached outputs (e.g. ${missing[0]}; removed by \`mlcube cache gc\` or its size limit?)`;
    return { steps, replaced, kept };
  }

  /**
   * Puts a hit's outputs back: files that differ are moved aside under .mlcube/cache/replaced/<run_id>/ first (never
   * lost), each file is placed atomically and checked against its digest; the cached run's metrics go to `metricsDir`.
   * Returns the paths restored (relative to the workspace).
   */
  async restore(hit: CacheHit, runId: string, metricsDir: string): Promise<string[]> {
    const aside = join(cacheDir(this.workspace), 'replaced', runId);
    for (const p of hit.replaced) {
      const where = recordedPath(p, this.workspace);
      const to = join(aside, where.base === 'workspace' ? where.path : where.path.replace(/^\/+/, ''));
      mkdirSync(dirname(to), { recursive: true });
      renameSync(p, to);
      this.log.warn(`${p} differed from the cached run's output: moved to ${to}, restored from the store`);
    }
    for (const k of hit.kept) this.log.info(`${k} differs from the cached run's, and is left as it is (another task writes that directory too)`);
    const restored: string[] = [];
    for (const s of hit.steps) {
      if (s.kind === 'dir') mkdirSync(s.dest, { recursive: true });
      else if (s.kind === 'link') {
        mkdirSync(dirname(s.dest), { recursive: true });
        const tmp = `${s.dest}.tmp-${process.pid}`;
        rmSync(tmp, { force: true });
        symlinkSync(s.target, tmp);
        renameSync(tmp, s.dest);
        restored.push(s.dest);
      } else {
        if (!(await this.store.place(s.sha256, s.dest))) throw new Error(`the store's copy of ${s.dest} is missing or damaged (sha256 ${s.sha256.slice(0, 12)})`);
        restored.push(s.dest);
      }
    }
    for (const s of hit.steps) if (s.kind === 'file') this.store.touch(s.sha256);
    // The cached run's metric rows are this run's: the gates are judged on them again, with today's thresholds.
    try {
      writeFileAtomic(join(metricsDir, METRICS_FILE_NAME), readFileSync(join(hit.ofDir, METRICS_FILE)), 0o644, false);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    return restored.map((p) => recordedPath(p, this.workspace).path);
  }

  /**
   * After a task ran and succeeded: its output files into the store and an entry for its key. Best effort: a store
   * that cannot take them costs a later run its cache hit, never this run's result.
   */
  async remember(task: PlannedTask, record: RunRecord, manifests: ReadonlyMap<string, readonly TreeEntry[]>): Promise<void> {
    if (!record.cache || record.cache.decision === 'off') return;
    try {
      for (const [i, p] of record.parameters.entries()) {
        if (p.io !== 'output' || !p.digest) continue;
        const host = task.params[i].hostPath;
        if (p.found === 'file') {
          if (!(await this.store.putFile(host, p.digest.sha256))) return this.log.info(`task "${task.name}": ${host} changed after it was digested: its outputs are not cached`);
          continue;
        }
        for (const e of manifests.get(manifestKey(p)) ?? []) {
          const abs = join(host, ...e.path.split('/'));
          if (e.type === 'file' && !(await this.store.putFile(abs, e.sha256!))) return this.log.info(`task "${task.name}": ${abs} changed after it was digested: its outputs are not cached`);
          if (e.type === 'symlink') this.store.putBytes(readlinkSync(abs, { encoding: 'buffer' }));
        }
      }
      writeEntry(this.workspace, { key: record.cache.key, task: task.name, run_id: record.run_id });
      enforceLimit(this.store, this.settings.maxBytes, this.log);
    } catch (e) {
      this.log.warn(`task "${task.name}": its outputs could not be put in the cache store ${this.settings.storeDir}: ${(e as Error).message}`);
    }
  }

  save(): void {
    this.memo?.save();
  }
}

/** Host paths that several tasks of the cube write (the same output path declared twice), e.g. a shared logs/ directory. */
export function sharedOutputPaths(cfg: Tree, ctx: PathContext): Set<string> {
  const seen = new Map<string, number>();
  for (const task of Object.keys(cfg.tasks as Tree)) for (const p of declaredPaths(cfg, task, ctx)) if (p.io === 'output') seen.set(p.path, (seen.get(p.path) ?? 0) + 1);
  return new Set([...seen].filter(([, n]) => n > 1).map(([p]) => p));
}
