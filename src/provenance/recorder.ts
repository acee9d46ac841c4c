import { statSync } from 'node:fs';
import { arch, hostname, platform as osPlatform, userInfo } from 'node:os';
import { join } from 'node:path';
import type { Tree } from '../config/tree.js';
import type { Logger } from '../log.js';
import type { ResolvedTask } from '../params/resolve.js';
import { canonicalize } from './canonical-json.js';
import { writeFileAtomic } from '../atomic-write.js';
import { digestPath, sha256File } from './digest.js';
import { signEnvelope } from './dsse.js';
import { loadPrivateKey } from './keys.js';
import { inputKey, linkInputs } from './lineage.js';
import { appendProducers, findProducers } from './producer-index.js';
import { finalMetrics, readMetrics, METRICS_ENV } from './metrics.js';
import { ENVELOPE_FILE, METRICS_FILE, RECORD_FILE, type RecordedParam, type RunRecord, type RunStatus } from './record.js';
import { buildStatement } from './statement.js';
import { runsDir } from './store.js';

export interface RecorderOptions {
  workspace: string;
  cubeRoot: string;
  cubeFile: string;
  config: Tree;
  runner: string;
  platform: string;
  gpus: string;
  /** The image the tasks run in (asked after the first task ran, when it surely exists); none on the host. */
  image?: () => Promise<RunRecord['image']>;
  /** Ed25519 private key file; none: records are written unsigned. */
  signingKey?: string;
  log: Logger;
}

/** One task run being recorded: where its record lives and the env the task gets. */
export interface ActiveRun {
  record: RunRecord;
  dir: string;
  /** Extra environment for the task (MLCUBE_METRICS_FILE). */
  env: Record<string, string>;
}

/** Six hex digits telling apart runs of one task started in the same second (not a secret: no need for crypto). */
const randomSuffix = () => Math.floor(Math.random() * 0x1000000).toString(16).padStart(6, '0');

const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');

/** Digests the record's inputs (before the task) or outputs (after it) as they are on disk now, in place. */
async function digestParams(r: RunRecord, io: RecordedParam['io']): Promise<void> {
  for (const [i, p] of r.parameters.entries()) {
    if (p.io !== io) continue;
    const d = await digestPath(p.host_path);
    // Neither a file nor a directory (a dangling link, a FIFO...): no digest could stand for what the task saw.
    if (d.type === 'symlink' || d.type === 'other') throw new Error(`${io} ${p.name} (${p.host_path}) is ${d.type === 'symlink' ? 'a symlink that leads nowhere' : 'neither a file nor a directory'}: cannot digest it`);
    const digest: RecordedParam['digest'] =
      d.type === 'missing' ? null : d.type === 'directory' ? { algorithm: 'mlcube-tree-v1', sha256: d.sha256!, entries: d.entries } : { algorithm: 'sha256', sha256: d.sha256!, size: d.size };
    r.parameters[i] = { ...p, digest };
  }
}

/**
 * Writes run records around runner.run: `open` names the run, `begin` hashes the inputs and writes a "running"
 * record (while the runner prepares the task), `finish` hashes the outputs, collects metrics and logs, signs, and
 * rewrites the record with its final status. Every write is atomic (temp file + rename), so a record is always
 * either the running one or the final one.
 */
export class RunRecorder {
  private cubeSha?: Promise<string>;
  private readonly key;
  private image?: Promise<RunRecord['image']>;

  constructor(private readonly opts: RecorderOptions) {
    this.key = opts.signingKey ? loadPrivateKey(opts.signingKey) : undefined;
  }

  /**
   * The record of a task run about to start, not yet written: its id, its directory and the env the task gets,
   * known before anything is hashed or written, so the runner can prepare the task (e.g. create its container)
   * while `begin` writes the record.
   */
  open(task: ResolvedTask, containerPaths: (string | null)[]): ActiveRun {
    const o = this.opts;
    const started = new Date();
    const runId = `${stamp(started)}-${task.name.replace(/[^A-Za-z0-9_.-]/g, '_')}-${randomSuffix()}`;
    const dir = join(runsDir(o.workspace), runId);
    const parameters: RecordedParam[] = task.params.map((p, i) => ({ name: p.name, io: p.io, type: p.type, host_path: p.hostPath, container_path: containerPaths[i] ?? null, digest: null }));
    const record: RunRecord = {
      schema: 'mlcube-run-record/v1',
      run_id: runId,
      task: task.name,
      status: 'running',
      exit_code: null,
      pid: process.pid,
      started_at: started.toISOString(),
      ended_at: null,
      duration_ms: null,
      workspace: o.workspace,
      cube: { name: typeof o.config.name === 'string' ? o.config.name : null, root: o.cubeRoot, file: o.cubeFile, sha256: '' },
      runner: o.runner,
      platform: o.platform,
      host: { hostname: hostname(), platform: osPlatform(), arch: arch(), node: process.version, user: safeUser() },
      gpus: o.gpus,
      image: null,
      config: o.config,
      parameters,
      metrics: { rows: [], final: {}, rejected: [] },
      logs: [],
      lineage: [],
      signature: null,
    };
    return { record, dir, env: { [METRICS_ENV]: join(dir, METRICS_FILE) } };
  }

  /** Hashes the inputs and writes the "running" record; the task must not start before this settles. */
  async begin(run: ActiveRun): Promise<void> {
    const r = run.record;
    await digestParams(r, 'input');
    r.cube.sha256 = await (this.cubeSha ??= sha256File(this.opts.cubeFile).then((d) => d.sha256));
    r.lineage = linkInputs(r.parameters, findProducers(this.opts.workspace, new Set(r.parameters.map(inputKey).filter((k): k is string => k !== undefined))));
    // Not fsynced: a crash loses at most this "running" record, never a finished one.
    writeFileAtomic(join(run.dir, RECORD_FILE), JSON.stringify(r, null, 2) + '\n', 0o644, false);
  }

  /** Final status: the outputs as they are now, metrics, logs, and the signed statement when a key is configured. */
  async finish(run: ActiveRun, status: Exclude<RunStatus, 'running'>, exitCode: number | null, error?: string): Promise<RunRecord> {
    const r = run.record;
    const ended = new Date();
    await digestParams(r, 'output');
    const m = readMetrics(join(run.dir, METRICS_FILE));
    r.metrics = { rows: m.rows, final: finalMetrics(m.rows), rejected: m.rejected };
    if (m.rejected.length) this.opts.log.warn(`task "${r.task}": ${m.rejected.length} metric row(s) break schemas/metric-row.schema.json and were not collected (${m.rejected[0]})`);
    r.logs = taskLogs(r, Date.parse(r.started_at));
    Object.assign(r, { status, exit_code: exitCode, ended_at: ended.toISOString(), duration_ms: ended.getTime() - Date.parse(r.started_at) });
    if (error) r.error = error;
    if (this.opts.image) r.image = await (this.image ??= this.opts.image().catch(() => null));
    if (this.key && status === 'succeeded') {
      const env = signEnvelope(Buffer.from(canonicalize(buildStatement(r)), 'utf8'), this.key);
      writeFileAtomic(join(run.dir, ENVELOPE_FILE), JSON.stringify(env, null, 2) + '\n');
      r.signature = { envelope: ENVELOPE_FILE, keyid: env.signatures[0].keyid };
    }
    writeFileAtomic(join(run.dir, RECORD_FILE), JSON.stringify(r, null, 2) + '\n');
    appendProducers(this.opts.workspace, r);
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

/** The task's log files: `*.log` inside its outputs written since it started (the runner streams stdout/stderr live, uncaptured). */
function taskLogs(r: RunRecord, since: number): RunRecord['logs'] {
  const out: RunRecord['logs'] = [];
  for (const p of r.parameters) {
    if (p.io !== 'output' || !p.digest) continue;
    const files = p.type === 'file' ? [{ path: '', sha256: p.digest.sha256 }] : (p.digest.entries ?? []).filter((e) => e.type === 'file').map((e) => ({ path: e.path, sha256: e.sha256! }));
    for (const f of files) {
      const abs = f.path ? join(p.host_path, f.path) : p.host_path;
      if (!abs.endsWith('.log')) continue;
      const st = statSync(abs, { throwIfNoEntry: false });
      if (st && st.mtimeMs >= since - 1000) out.push({ path: abs, sha256: f.sha256 });
    }
  }
  return out;
}
