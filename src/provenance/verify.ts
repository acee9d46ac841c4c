import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { digestPath, type TreeEntry } from './digest.js';
import { checkEnvelope, IN_TOTO_PAYLOAD_TYPE, type Envelope } from './dsse.js';
import { ENVELOPE_FILE, RECORD_FILE, type RecordedParam, type RunRecord } from './record.js';
import { buildStatement, recordDigest, SLSA_PROVENANCE_V1, STATEMENT_TYPE } from './statement.js';
import { canonicalize } from './canonical-json.js';
import { shownStatus } from './store.js';

export interface VerifyResult {
  run_id: string;
  ok: boolean;
  problems: string[];
  /** Things checked and found fine but worth saying (files added later by another recorded run). */
  notes: string[];
}

const short = (h: string | undefined) => (h ? h.slice(0, 12) : 'none');

function readEnvelope(dir: string, record: RunRecord, problems: string[]): Envelope | undefined {
  const f = join(dir, record.signature?.envelope ?? ENVELOPE_FILE);
  if (!record.signature) {
    problems.push('signature: the run is not signed (no signing key was configured when it ran)');
    return undefined;
  }
  if (!existsSync(f)) {
    problems.push(`signature: the envelope ${f} is missing`);
    return undefined;
  }
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as Envelope;
  } catch {
    problems.push(`signature: the envelope ${f} is not JSON`);
    return undefined;
  }
}

/** Files added or changed after this run, explained when a later successful run recorded exactly those bytes at that path. */
function laterOutputs(record: RunRecord, others: readonly RunRecord[], trusted: (r: RunRecord) => boolean): Map<string, { run: string; sha256: string }> {
  const m = new Map<string, { run: string; sha256: string }>();
  for (const r of others) {
    if (r.run_id === record.run_id || r.started_at < record.started_at || r.status !== 'succeeded' || !trusted(r)) continue;
    for (const p of r.parameters) {
      if (p.io !== 'output' || !p.digest) continue;
      if (p.type === 'file') m.set(p.host_path, { run: r.run_id, sha256: p.digest.sha256 });
      for (const e of p.digest.entries ?? []) if (e.type === 'file') m.set(join(p.host_path, e.path), { run: r.run_id, sha256: e.sha256! });
    }
  }
  return m;
}

async function checkParam(p: RecordedParam, later: Map<string, { run: string; sha256: string }>, problems: string[], notes: string[]): Promise<void> {
  const what = `${p.io} ${p.name} (${p.host_path})`;
  if (!p.digest) {
    if (p.io === 'output') problems.push(`${what}: the run produced nothing there`);
    return;
  }
  const now = await digestPath(p.host_path);
  if (now.type === 'missing') return void problems.push(`${what}: missing`);
  if (now.type !== p.type) return void problems.push(`${what}: was a ${p.type}, is now a ${now.type}`);
  if (now.sha256 === p.digest.sha256) return;
  if (p.type === 'file') return void problems.push(`${what}: sha256 differs (recorded ${short(p.digest.sha256)}, now ${short(now.sha256)})`);
  const was = new Map<string, TreeEntry>((p.digest.entries ?? []).map((e) => [e.path, e]));
  const is = new Map<string, TreeEntry>((now.entries ?? []).map((e) => [e.path, e]));
  for (const [path, e] of was) {
    const n = is.get(path);
    if (!n) problems.push(`${what}: ${path} is missing`);
    else if (n.type !== e.type) problems.push(`${what}: ${path} was a ${e.type}, is now a ${n.type}`);
    else if (n.sha256 !== e.sha256) explain(`${path} differs (recorded ${short(e.sha256)}, now ${short(n.sha256)})`, path, n);
  }
  for (const [path, n] of is) if (!was.has(path)) explain(`${path} was added${n.type === 'file' ? ` (sha256 ${short(n.sha256)})` : ` (a ${n.type})`}`, path, n);

  function explain(msg: string, path: string, n: TreeEntry): void {
    const l = later.get(join(p.host_path, path));
    if (n.type === 'file' && l && l.sha256 === n.sha256) notes.push(`${what}: ${path} was written later by run ${l.run}`);
    else if (n.type === 'dir' && [...later.keys()].some((k) => k.startsWith(join(p.host_path, path) + '/'))) notes.push(`${what}: directory ${path} was made later by another recorded run`);
    else problems.push(`${what}: ${msg}`);
  }
}

/**
 * Verifies one run: status, signature by the trusted key, the signed statement against the record, and every
 * recorded digest (inputs, outputs, cube file) against the files now on disk. Any doubt is a problem.
 */
export async function verifyRun(dir: string, record: RunRecord, key: KeyObject | undefined, others: readonly RunRecord[] = []): Promise<VerifyResult> {
  const problems: string[] = [];
  const notes: string[] = [];
  const status = shownStatus(record);
  if (status !== 'succeeded') problems.push(`status: the run is ${status}${record.exit_code !== null ? ` (exit code ${record.exit_code})` : ''}, not succeeded`);
  const env = readEnvelope(dir, record, problems);
  if (env && !key) problems.push('signature: no trusted public key (pass --public-key, set MLCUBE_PUBLIC_KEY or MLCUBE_SIGNING_KEY)');
  if (env && key) {
    const sig = checkEnvelope(env, key);
    problems.push(...sig);
    if (sig.length === 0) checkStatement(env, record, problems);
  }
  const trusted = (r: RunRecord) => signedBy(join(dirname(dir), r.run_id), r, key);
  const later = laterOutputs(record, others, trusted);
  for (const p of record.parameters) await checkParam(p, later, problems, notes);
  const cube = await digestPath(record.cube.file);
  if (cube.type !== 'file') problems.push(`cube file ${record.cube.file}: ${cube.type === 'missing' ? 'missing' : `is now a ${cube.type}, not a file`}`);
  else if (cube.sha256 !== record.cube.sha256) problems.push(`cube file ${record.cube.file}: sha256 differs (recorded ${short(record.cube.sha256)}, now ${short(cube.sha256)})`);
  return { run_id: record.run_id, ok: problems.length === 0, problems, notes };
}

function checkStatement(env: Envelope, record: RunRecord, problems: string[]): void {
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) problems.push(`statement: payloadType is ${env.payloadType}, expected ${IN_TOTO_PAYLOAD_TYPE}`);
  let st: any;
  try {
    st = JSON.parse(Buffer.from(env.payload, 'base64').toString('utf8'));
  } catch {
    return void problems.push('statement: the signed payload is not JSON');
  }
  if (st._type !== STATEMENT_TYPE || st.predicateType !== SLSA_PROVENANCE_V1) problems.push('statement: not an in-toto v1 Statement with a SLSA provenance v1 predicate');
  const signedRecord = st.predicate?.runDetails?.byproducts?.find((b: any) => b.name === 'record.json')?.digest?.sha256;
  if (signedRecord !== recordDigest(record)) problems.push(`record: ${RECORD_FILE} differs from the record the statement signed (record digest ${short(recordDigest(record))}, signed ${short(signedRecord)})`);
  else if (canonicalize(st) !== canonicalize(buildStatement(record))) problems.push('statement: the signed statement does not match the record');
}

/** A later run's record counts as evidence only when it is itself signed by the trusted key (or nothing is signed). */
function signedBy(dir: string, r: RunRecord, key: KeyObject | undefined): boolean {
  if (!key) return true;
  const p: string[] = [];
  const env = readEnvelope(dir, r, p);
  if (!env || checkEnvelope(env, key).length) return false;
  const q: string[] = [];
  checkStatement(env, r, q);
  return q.length === 0;
}

/** A run directory from what the user passed: the directory, its record.json, or its envelope file. */
export function runDirOf(pathArg: string): string | undefined {
  if (existsSync(join(pathArg, RECORD_FILE))) return pathArg;
  if ((basename(pathArg) === RECORD_FILE || basename(pathArg) === ENVELOPE_FILE) && existsSync(join(dirname(pathArg), RECORD_FILE))) return dirname(pathArg);
  return undefined;
}
