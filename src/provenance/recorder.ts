import type { KeyObject } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { arch, hostname, platform as osPlatform, userInfo } from 'node:os';
import { join, relative, sep } from 'node:path';
import type { Tree } from '../config/tree.js';
import type { Redaction } from '../config/secrets.js';
import type { Logger } from '../log.js';
import type { ResolvedTask } from '../params/resolve.js';
import { canonicalize } from './canonical-json.js';
import { mkdirWithMode, writeFileAtomic } from '../atomic-write.js';
import { ProvenanceError } from '../errors.js';
import { digestPath, manifestLine, sha256File, treeDigest, treeManifest, type PathDigest, type TreeEntry } from './digest.js';
import { signEnvelope } from './dsse.js';
import { inputKey, linkInputs } from './lineage.js';
import { appendProducers, findProducers } from './producer-index.js';
import { finalMetrics, readMetrics } from './metrics.js';
import { hostFactsAsync, machineFacts } from './environment.js';
import { captureStream, TASK_OUTPUT_LIMIT_BYTES, type Capture } from './task-output.js';
import { METRICS_FILE_NAME, type TaskIo, type TaskUsage } from '../runner.js';
import { artifactKind, paramDigestOptions, recordedPath } from './paths.js';
import {
  CODE_MANIFEST,
  ENVELOPE_FILE,
  manifestFileOf,
  manifestKey,
  METRICS_FILE,
  RECORD_FILE,
  RECORD_SCHEMA,
  type CodeDigest,
  type HostFacts,
  type RecordedParam,
  type RunRecord,
  type RunStatus,
} from './record.js';
import { buildStatement } from './statement.js';
import type { GateReport } from '../gates/evaluate.js';
import type { PolicyDecision } from '../policy/decide.js';
import { encryptionFacts } from '../crypto/param-facts.js';
import { recordProcess, runsDir } from './store.js';
import { markLive, thisMlcube, unmarkLive } from './reaper.js';
import { RECORDS_DIR } from '../params/isolation.js';
import { newMetricsDir, stdoutStream, type StdoutRoute } from '../task-io.js';
import type { DigestMemo } from './digest-memo.js';
import { cacheKey, taskKeyFacts, type CacheKey } from '../cache/key.js';
import type { RunLabels } from './labels.js';

export interface RecorderOptions {
  workspace: string;
  cubeRoot: string;
  /** Absolute path of the cube file. */
  cubeFile: string;
  config: Tree;
  /** The run policies' decisions (src/policy): recorded and signed with every task of the run. */
  policies?: readonly PolicyDecision[];
  /** `mlcube rerun`: the run repeated and the overrides given on top (record.rerun). */
  rerun?: { of: string; overrides: string[] };
  /** --experiment, --tag and the sweep point (record.experiment, record.tags, record.sweep). */
  labels?: RunLabels;
  /** The record's view of config, secrets redacted; asked in begin (it loads node:crypto, kept off the start-up path). */
  redact?: () => Redaction;
  runner: string;
  /** The task runs on the host: its code is the cube's files (digested), not an image. */
  runsOnHost: boolean;
  platform: string;
  gpus: string;
  /** The image the tasks run in (asked after the first task ran, when it surely exists); none on the host. */
  image?: () => Promise<RunRecord['image']>;
  /** The Ed25519 private key (loaded: a bad key fails the run before anything is written); none: records are written unsigned. */
  signingKey?: KeyObject;
  /** Docker: the daemon the containers run on (record.reaping.docker_host). */
  dockerHost?: string;
  /** Which of mlcube's streams the task's stdout is teed to (RunContext.stdoutTo). */
  stdoutTo?: StdoutRoute;
  /** File digests by unchanged stat (the task cache's; none with --no-cache): every byte is read. */
  memo?: DigestMemo;
  log: Logger;
}

/** One task run being recorded: where its record lives and where the task's output and metrics go. */
export interface ActiveRun {
  record: RunRecord;
  dir: string;
  /** Given to the runner: the task's stdout/stderr (teed to the terminal and stdout.log/stderr.log) and its metrics directory. */
  taskIo: TaskIo;
  /** Entries of each directory parameter, by `io:name` (written as manifests beside the record). */
  manifests: Map<string, TreeEntry[]>;
  captures: { stdout: Capture; stderr: Capture };
}

/** How a task run ended, for its final record. */
export interface RunOutcome {
  status: Exclude<RunStatus, 'running'>;
  exitCode: number | null;
  error?: string;
  usage?: TaskUsage;
  /** The release decision of a task with gates (src/gates): kept in the record and signed, passed or failed. */
  gates?: GateReport;
}

/** Six hex digits telling apart runs of one task started in the same second (not a secret: no need for crypto). */
const randomSuffix = () =>
  Math.floor(Math.random() * 0x1000000)
    .toString(16)
    .padStart(6, '0');

/**
 * A run directory of its own: made exclusively (not mkdir -p), so two runs of one task started in the same second
 * that drew the same suffix never share one; the loser draws again.
 */
function newRunDir(workspace: string, prefix: string): { runId: string; dir: string } {
  mkdirWithMode(runsDir(workspace));
  for (;;) {
    const runId = `${prefix}-${randomSuffix()}`;
    const dir = join(runsDir(workspace), runId);
    try {
      mkdirSync(dir, { mode: 0o755 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw e;
    }
    chmodSync(dir, 0o755); // whatever the umask
    return { runId, dir };
  }
}

const stamp = (d: Date) =>
  d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');

/** Digest fields of a parameter from what is on disk now. */
export function recordDigest(p: RecordedParam, d: PathDigest): Pick<RecordedParam, 'found' | 'digest'> {
  if (d.type === 'file') return { found: 'file', digest: { algorithm: 'sha256', sha256: d.sha256!, size: d.size! } };
  if (d.type === 'directory') return { found: 'directory', digest: { algorithm: 'mlcube-tree-v1', sha256: d.sha256!, entries: d.entries!.length, manifest: manifestFileOf(p) } };
  return { found: d.type as RecordedParam['found'], digest: null };
}

/** A task's parameters as its record names them, not yet digested (found `missing`). */
export function recordedParams(task: ResolvedTask, workspace: string, containerPaths: readonly (string | null)[]): RecordedParam[] {
  return task.params.map((p, i) => ({
    name: p.name,
    io: p.io,
    // An encrypted parameter's path is its ciphertext, a file: what it holds is said under `encryption`.
    type: p.encryption ? 'file' : p.type,
    ...(p.encryption ? { encryption: encryptionFacts(p) ?? null } : {}),
    ...recordedPath(p.hostPath, workspace),
    container_path: containerPaths[i] ?? null,
    found: 'missing',
    digest: null,
    kind: artifactKind(p.name),
  }));
}

/** Writes a directory's manifest beside the record: its sha256 is the tree digest, so the record vouches for it. */
function writeManifest(dir: string, file: string, entries: readonly TreeEntry[]): void {
  writeFileAtomic(join(dir, ...file.split('/')), entries.map(manifestLine).join(''), 0o644, false);
}

/** Digests the record's inputs (before the task) or outputs (after it) as they are on disk now, in place. */
async function digestParams(run: ActiveRun, io: RecordedParam['io'], hostPaths: readonly string[], memo: DigestMemo | undefined): Promise<void> {
  const r = run.record;
  for (const [i, p] of r.parameters.entries()) {
    if (p.io !== io) continue;
    let d: PathDigest;
    try {
      d = await digestPath(hostPaths[i], { ...paramDigestOptions(hostPaths[i], r.workspace), memo });
    } catch (e) {
      // An entry that cannot be read is never left out of a digest: the run's record cannot be completed.
      throw new ProvenanceError(`cannot digest ${io} ${p.name} (${hostPaths[i]}): ${(e as Error).message}`, {
        place: { task: r.task, parameter: p.name },
        suggestions: ['Make everything under it readable by this user (or remove what cannot be read), then re-run the task.'],
      });
    }
    r.parameters[i] = { ...p, ...recordDigest(p, d) };
    if (d.type === 'directory') {
      run.manifests.set(manifestKey(p), d.entries!);
      writeManifest(run.dir, manifestFileOf(p), d.entries!);
    }
  }
}

/** Top-level names left out of a cube's code digest: its workspaces and version-control / record directories. */
export function codeExclusions(root: string, workspace: string): string[] {
  const out = ['.git', RECORDS_DIR, 'workspace'];
  const rel = relative(root, workspace);
  if (rel && !rel.startsWith('..') && !rel.includes(':')) out.push(rel.split(sep).join('/'));
  return [...new Set(out)].sort();
}

/** The cube's code on the host: its directory tree less `excluded` (paths relative to the root). */
export async function digestCode(root: string, excluded: readonly string[], memo?: DigestMemo): Promise<{ digest: Omit<CodeDigest, 'manifest'>; entries: TreeEntry[] }> {
  const skip = new Set(excluded);
  const entries = await treeManifest(root, { exclude: (rel: string) => skip.has(rel), memo });
  return { digest: { algorithm: 'mlcube-tree-v1', sha256: treeDigest(entries), entries: entries.length, excluded: [...excluded] }, entries };
}

/**
 * Writes run records around runner.run (src/hooks/provenance.ts): `open` names the run, `begin` hashes the inputs
 * and the cube's code and writes a "running" record before the task starts, `finish` hashes the outputs, collects metrics
 * and logs, signs, and rewrites the record with its final status. Every write is atomic (temp file + rename), so
 * a record is always either the running one or the final one. Directories are 0755 and files 0644 whatever the
 * umask (README "Run records").
 */
export class RunRecorder {
  private cubeSha?: Promise<string>;
  private code?: Promise<{ digest: Omit<CodeDigest, 'manifest'>; entries: TreeEntry[] }>;
  private image?: Promise<RunRecord['image']>;
  private facts?: HostFacts;
  private gpuFacts?: Promise<Pick<HostFacts, 'gpus' | 'gpu_error'>>;
  private redaction?: Redaction;

  constructor(private readonly opts: RecorderOptions) {}

  /**
   * The record of a task run about to start, not yet written: its id, its directory and where the task's output and
   * metrics go (given to the runner once `begin` has written the record).
   */
  open(task: ResolvedTask, containerPaths: (string | null)[]): ActiveRun {
    const o = this.opts;
    const started = new Date();
    const { runId, dir } = newRunDir(o.workspace, `${stamp(started)}-${task.name.replace(/[^A-Za-z0-9_.-]/g, '_')}`);
    const parameters = recordedParams(task, o.workspace, containerPaths);
    const rootRel = relative(o.workspace, o.cubeRoot);
    const record: RunRecord = {
      schema: RECORD_SCHEMA,
      run_id: runId,
      task: task.name,
      status: 'running',
      exit_code: null,
      pid: process.pid,
      started_at: started.toISOString(),
      ended_at: null,
      duration_ms: null,
      workspace: o.workspace,
      cube: {
        name: typeof o.config.name === 'string' ? o.config.name : null,
        root: o.cubeRoot,
        // The workspace inside the cube (the default <root>/workspace): the root travels with a copied cube.
        root_from_workspace: rootRel === '' ? '.' : rootRel.split(sep).every((s) => s === '..') ? rootRel.split(sep).join('/') : null,
        file: relative(o.cubeRoot, o.cubeFile).split(sep).join('/'),
        sha256: '',
        code: null,
      },
      runner: o.runner,
      runs_on_host: o.runsOnHost,
      platform: o.platform,
      host: (this.facts ??= hostFacts()),
      gpus: o.gpus,
      image: null,
      config: null, // redacted in begin
      secrets: [],
      parameters,
      metrics: { rows: [], final: {}, rejected: [] },
      output: { stdout: null, stderr: null },
      usage: null,
      logs: [],
      lineage: [],
      experiment: o.labels?.experiment ?? null,
      tags: { ...o.labels?.tags },
      ...(o.labels?.sweep ? { sweep: structuredClone(o.labels.sweep) } : {}),
      signature: null,
    };
    // The run directory (made above) and the task's output files exist before the runner starts anything; the metrics
    // directory is private to this task run and outside the workspace, so a container sees it and nothing else.
    const metricsDir = newMetricsDir();
    const me = thisMlcube();
    record.reaping = { boot_id: me.boot_id, pid_start: me.pid_start, metrics_dir: metricsDir, task_pgid: null, task_start: null, docker_host: o.dockerHost ?? null };
    const captures = {
      stdout: captureStream({ file: join(dir, 'stdout.log'), passthrough: stdoutStream(o.stdoutTo), limitBytes: TASK_OUTPUT_LIMIT_BYTES }),
      stderr: captureStream({ file: join(dir, 'stderr.log'), passthrough: process.stderr, limitBytes: TASK_OUTPUT_LIMIT_BYTES }),
    };
    this.gpuFacts ??= hostFactsAsync();
    return { record, dir, taskIo: { stdout: captures.stdout.stream, stderr: captures.stderr.stream, metricsDir }, manifests: new Map(), captures };
  }

  /** A run whose record could not even be begun (an input could not be digested): nothing of it is left behind. */
  async abandon(run: ActiveRun): Promise<void> {
    await Promise.allSettled([run.captures.stdout.finish(), run.captures.stderr.finish()]);
    rmSync(run.taskIo.metricsDir, { recursive: true, force: true });
    rmSync(run.dir, { recursive: true, force: true });
  }

  private hostPaths(run: ActiveRun, task: ResolvedTask): string[] {
    return run.record.parameters.map((_, i) => task.params[i].hostPath);
  }

  private redacted(): Redaction {
    return (this.redaction ??= this.opts.redact?.() ?? { config: this.opts.config, secrets: [], scrub: (t) => t });
  }

  /** Hashes the inputs (and the cube's code on the host) and writes the "running" record; the task must not start before this settles. */
  async begin(run: ActiveRun, task: ResolvedTask): Promise<void> {
    const r = run.record;
    const o = this.opts;
    const red = this.redacted();
    Object.assign(r, { config: red.config, secrets: red.secrets });
    if (o.policies?.length) r.policies = [...o.policies];
    if (o.rerun) r.rerun = { of: o.rerun.of, overrides: [...o.rerun.overrides] };
    await digestParams(run, 'input', this.hostPaths(run, task), o.memo);
    r.cube.sha256 = await (this.cubeSha ??= sha256File(o.cubeFile).then((d) => d.sha256));
    if (o.runsOnHost) {
      const code = await (this.code ??= digestCode(o.cubeRoot, codeExclusions(o.cubeRoot, o.workspace), o.memo));
      r.cube.code = { ...code.digest, manifest: CODE_MANIFEST };
      writeManifest(run.dir, CODE_MANIFEST, code.entries);
    }
    r.lineage = linkInputs(r.parameters, await findProducers(o.workspace, new Set(r.parameters.map(inputKey).filter((k): k is string => k !== undefined))));
    // Not fsynced: a crash loses at most this "running" record, never a finished one.
    writeFileAtomic(join(run.dir, RECORD_FILE), JSON.stringify(r, null, 2) + '\n', 0o644, false);
    // From now until the final record, a later mlcube finds this run without reading every record (reaper.ts).
    markLive(o.workspace, r.run_id, recordProcess(r), o.log);
  }

  /**
   * The task's cache key (src/cache/key.ts) from what `begin` digested, the secrets redacted; undefined in a container
   * whose image digest cannot be told (its code is then unknown: nothing may be reused).
   */
  async cacheKey(run: ActiveRun): Promise<CacheKey | undefined> {
    const r = run.record;
    let image: string | null = null;
    if (!this.opts.runsOnHost) {
      // Asked again only while unknown: an image that could not be inspected before the first task may exist now.
      const got = (await this.image) ?? (this.opts.image ? await this.opts.image().catch(() => null) : null);
      if (!got?.digest) return undefined;
      image = got.digest;
      this.image ??= Promise.resolve(got);
      r.image = got;
    }
    const red = this.redacted();
    return cacheKey(
      taskKeyFacts(red.config, {
        task: r.task,
        runner: r.runner,
        gpus: r.gpus,
        code: r.cube.code?.sha256 ?? null,
        image,
        secrets: red.secrets,
        parameters: r.parameters,
      }),
    );
  }

  /**
   * The task's process group, once it started (host runners): written into the running record at once, so that a
   * later mlcube can stop the task if this one is killed. Never throws (the task is running).
   */
  taskStarted(run: ActiveRun, p: { pgid: number; start: number | null }): void {
    const r = run.record;
    r.reaping = { ...r.reaping!, task_pgid: p.pgid, task_start: p.start };
    try {
      writeFileAtomic(join(run.dir, RECORD_FILE), JSON.stringify(r, null, 2) + '\n', 0o644, false);
    } catch (e) {
      this.opts.log.warn(
        `could not write the task's process group ${p.pgid} into ${join(run.dir, RECORD_FILE)}: ${(e as Error).message} (if this mlcube is killed, stop the task with kill -TERM -${p.pgid})`,
      );
    }
  }

  /** Final status: the outputs as they are now, metrics, logs, and the signed statement when a key is configured. */
  async finish(run: ActiveRun, task: ResolvedTask, outcome: RunOutcome): Promise<RunRecord> {
    const r = run.record;
    const ended = new Date();
    const { status, exitCode, error } = outcome;
    const [stdout, stderr] = await Promise.all([run.captures.stdout.finish(), run.captures.stderr.finish()]);
    r.output = { stdout, stderr };
    r.usage = outcome.usage ?? null;
    const gpu = await this.gpuFacts!;
    r.host = { ...r.host, gpus: gpu.gpus, ...(gpu.gpu_error ? { gpu_error: this.redacted().scrub(gpu.gpu_error) } : {}) };
    const paths = this.hostPaths(run, task);
    try {
      await digestParams(run, 'output', paths, this.opts.memo);
    } catch (e) {
      // The outputs could not be digested: the record says so (failed, unsigned) instead of staying "running".
      Object.assign(r, {
        status: 'failed',
        exit_code: exitCode,
        ended_at: ended.toISOString(),
        duration_ms: ended.getTime() - Date.parse(r.started_at),
        error: this.redacted().scrub((e as Error).message),
      });
      writeFileAtomic(join(run.dir, RECORD_FILE), JSON.stringify(r, null, 2) + '\n');
      unmarkLive(this.opts.workspace, r.run_id);
      rmSync(run.taskIo.metricsDir, { recursive: true, force: true });
      throw e;
    }
    // The task's metrics file, kept beside the record; the private directory it was written in goes.
    const metricsFile = join(run.taskIo.metricsDir, METRICS_FILE_NAME);
    const m = readMetrics(metricsFile);
    if (existsSync(metricsFile) && statSync(metricsFile).isFile()) copyFileSync(metricsFile, join(run.dir, METRICS_FILE));
    rmSync(run.taskIo.metricsDir, { recursive: true, force: true });
    const scrub = this.redacted().scrub;
    r.metrics = { rows: m.rows, final: finalMetrics(m.rows), rejected: m.rejected.map(scrub) };
    if (m.rejected.length) this.opts.log.warn(`task "${r.task}": ${m.rejected.length} metric row(s) break schemas/metric-row.schema.json and were not collected (${m.rejected[0]})`);
    r.logs = taskLogs(run, paths, Date.parse(r.started_at));
    Object.assign(r, { status, exit_code: exitCode, ended_at: ended.toISOString(), duration_ms: ended.getTime() - Date.parse(r.started_at) });
    if (error) r.error = scrub(error); // a runner's message may quote a config value
    if (outcome.gates) r.gates = outcome.gates;
    if (this.opts.image) r.image = await (this.image ??= this.opts.image().catch(() => null));
    if (!this.opts.runsOnHost && !r.image?.digest)
      this.opts.log.warn(`task "${r.task}": the ${r.runner} runner did not tell the image digest; the record cannot say what code ran and will not verify`);
    // A run that failed only its release gates is signed too: the statement attests the decision.
    if (this.opts.signingKey && (status === 'succeeded' || outcome.gates?.release === 'failed')) {
      const env = signEnvelope(Buffer.from(canonicalize(buildStatement(r, run.manifests)), 'utf8'), this.opts.signingKey);
      writeFileAtomic(join(run.dir, ENVELOPE_FILE), JSON.stringify(env, null, 2) + '\n');
      r.signature = { envelope: ENVELOPE_FILE, keyid: env.signatures[0].keyid };
    }
    writeFileAtomic(join(run.dir, RECORD_FILE), JSON.stringify(r, null, 2) + '\n');
    unmarkLive(this.opts.workspace, r.run_id);
    await appendProducers(this.opts.workspace, r, run.manifests);
    return r;
  }
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.() ?? 'unknown');
  }
}

/** This machine, for the record; GPUs (nvidia-smi, which can take a second) are asked while the task runs. */
function hostFacts(): HostFacts {
  return { hostname: hostname(), platform: osPlatform(), arch: arch(), node: process.version, user: safeUser(), ...machineFacts(), gpus: null };
}

/** The task's log files: `*.log` inside its outputs written since it started, relative to the workspace. */
function taskLogs(run: ActiveRun, hostPaths: readonly string[], since: number): RunRecord['logs'] {
  const out: RunRecord['logs'] = [];
  for (const [i, p] of run.record.parameters.entries()) {
    if (p.io !== 'output' || !p.digest) continue;
    const files =
      p.digest.algorithm === 'sha256'
        ? [{ path: '', sha256: p.digest.sha256 }]
        : (run.manifests.get(manifestKey(p)) ?? []).filter((e) => e.type === 'file').map((e) => ({ path: e.path, sha256: e.sha256! }));
    for (const f of files) {
      const abs = f.path ? join(hostPaths[i], f.path) : hostPaths[i];
      if (!abs.endsWith('.log')) continue;
      const st = statSync(abs, { throwIfNoEntry: false });
      if (st && st.mtimeMs >= since - 1000) out.push({ path: f.path ? `${p.path === '.' ? '' : `${p.path}/`}${f.path}` : p.path, sha256: f.sha256 });
    }
  }
  return out;
}
