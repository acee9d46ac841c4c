import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { checkSchema } from '../config/schemas.js';
import { digestPath, sha256Hex, type TreeEntry } from './digest.js';
import { checkEnvelope, type Envelope } from './dsse.js';
import { keyId } from './keys.js';
import { hostPathOf, isSafeRelative, paramDigestOptions } from './paths.js';
import { ENVELOPE_FILE, manifestKey, type Manifests, type RecordedParam, type RunRecord } from './record.js';
import { buildStatement, recordDigest, SLSA_PROVENANCE_V1, STATEMENT_TYPE } from './statement.js';
import { canonicalize } from './canonical-json.js';
import { digestCode } from './recorder.js';
import { readRegularFile } from './safe-read.js';
import { readManifests, readRecord, shownStatus } from './store.js';
import { recheckGates } from '../gates/recheck.js';

export interface TrustedKey {
  key: KeyObject;
  /** Where the key came from, said in every verify result. */
  source: string;
}

export interface VerifyResult {
  run_id: string;
  ok: boolean;
  problems: string[];
  /** Things checked and found fine but worth saying (files added later by another verified run, paths outside the workspace). */
  notes: string[];
  /** The record carries no signature (it was written without a signing key): the fix is to sign, not to restore files. */
  unsigned: boolean;
  /** The key the signature was checked with. */
  trusted_key: { keyid: string; source: string } | null;
  workspace: string;
  cube_root: string | null;
}

export interface VerifyTarget {
  /** The run directory, `<workspace>/.mlcube/runs/<id>`. */
  dir: string;
  /** The workspace whose files are checked: the one the run directory is in. */
  workspace: string;
  /** The cube root to check the cube file and code against (default: from the record). */
  cubeRoot?: string;
}

const short = (h: string | undefined) => (h ? h.slice(0, 12) : 'none');

/** The signed envelope of a record that claims a signature; anything but a well-formed DSSE envelope is a problem. */
function readEnvelope(dir: string, problems: string[]): Envelope | undefined {
  const f = join(dir, ENVELOPE_FILE);
  const read = readRegularFile(f);
  if (!read.ok) return void problems.push(`signature: the envelope ${f} ${read.why}`);
  let value: unknown;
  try {
    value = JSON.parse(read.data.toString('utf8'));
  } catch {
    return void problems.push(`signature: the envelope ${f} is not JSON`);
  }
  const bad = checkSchema('dsse-envelope.schema.json', value);
  if (bad.length)
    return void problems.push(
      `signature: the envelope ${f} is not a DSSE envelope (${bad
        .slice(0, 3)
        .map((p) => `/${p.path.join('/')} ${p.message}`)
        .join('; ')})`,
    );
  return value as Envelope;
}

/**
 * What `runs list` shows without verifying: `yes` when the record claims a signature and its envelope is a
 * well-formed DSSE envelope by the key the record names, `invalid` when it claims one and that is not so, else `no`.
 */
export function signatureState(dir: string, record: RunRecord): 'yes' | 'no' | 'invalid' {
  if (!record.signature) return 'no';
  const env = readEnvelope(dir, []);
  return env && env.signatures.some((s) => s.keyid === record.signature!.keyid) ? 'yes' : 'invalid';
}

/**
 * The signature checks of a record: it must be signed, by the trusted key, the record's keyid must name that key,
 * and the signed statement must be exactly the one this record (with its manifests) gives.
 */
function checkSignature(dir: string, record: RunRecord, manifests: Manifests, key: TrustedKey | undefined, problems: string[]): void {
  if (!record.signature) return void problems.push('signature: the run is not signed (no signing key was configured when it ran)');
  const env = readEnvelope(dir, problems);
  if (!key) return void problems.push('signature: no trusted public key (pass --public-key or set MLCUBE_PUBLIC_KEY; see README "Trust anchor")');
  const trusted = keyId(key.key);
  if (record.signature.keyid !== trusted) problems.push(`signature: the record says it was signed by key ${short(record.signature.keyid)}, the trusted key is ${short(trusted)}`);
  if (!env) return;
  const sig = checkEnvelope(env, key.key);
  problems.push(...sig);
  if (sig.length) return;
  // The signed payload, untrusted JSON of any shape: every field below is read optionally and compared.
  let st: { _type?: unknown; predicateType?: unknown; predicate?: { runDetails?: { byproducts?: unknown } } } | null;
  try {
    st = JSON.parse(Buffer.from(env.payload, 'base64').toString('utf8'));
  } catch {
    return void problems.push('statement: the signed payload is not JSON');
  }
  if (st?._type !== STATEMENT_TYPE || st?.predicateType !== SLSA_PROVENANCE_V1) return void problems.push('statement: not an in-toto v1 Statement with a SLSA provenance v1 predicate');
  const byproducts = st?.predicate?.runDetails?.byproducts;
  const signedRecord = Array.isArray(byproducts) ? (byproducts as { name?: unknown; digest?: { sha256?: unknown } }[]).find((b) => b?.name === 'record.json')?.digest?.sha256 : undefined;
  if (signedRecord !== recordDigest(record))
    problems.push(
      `record: record.json differs from the record the statement signed (record digest ${short(recordDigest(record))}, signed ${short(typeof signedRecord === 'string' ? signedRecord : undefined)})`,
    );
  else if (canonicalize(st) !== canonicalize(buildStatement(record, manifests))) problems.push('statement: the signed statement does not match the record');
}

/** A file a later run recorded as its output, by workspace-relative path. */
interface LaterFile {
  run: string;
  sha256: string;
}

/**
 * Outputs of the runs that started after this one, from records that themselves check out (valid, succeeded, their
 * manifests intact, signed by the trusted key): only those may explain a file that changed since this run.
 */
function laterOutputs(dir: string, record: RunRecord, key: TrustedKey | undefined): Map<string, LaterFile> {
  const m = new Map<string, LaterFile>();
  const runs = dirname(dir);
  let names: string[];
  try {
    names = readdirSync(runs, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch {
    return m;
  }
  for (const name of names) {
    if (name === basename(dir)) continue;
    const other = join(runs, name);
    const { record: r } = readRecord(other);
    // A run that failed only its release gates recorded (and signed) its outputs all the same.
    if (!r || r.run_id !== name || r.started_at < record.started_at || (r.status !== 'succeeded' && r.gates?.release !== 'failed')) continue;
    const { manifests, problems } = readManifests(other, r);
    checkSignature(other, r, manifests, key, problems);
    if (problems.length) continue;
    for (const p of r.parameters) {
      if (p.io !== 'output' || !p.digest || p.base !== 'workspace') continue;
      if (p.digest.algorithm === 'sha256') m.set(p.path, { run: r.run_id, sha256: p.digest.sha256 });
      for (const e of manifests.get(manifestKey(p)) ?? []) if (e.type === 'file') m.set(p.path === '.' ? e.path : `${p.path}/${e.path}`, { run: r.run_id, sha256: e.sha256! });
    }
  }
  return m;
}

/** One difference between a recorded manifest and the tree now, in the recorded order, then the additions. */
interface EntryChange {
  path: string;
  change: 'removed' | 'type' | 'content' | 'added';
  was?: TreeEntry;
  now?: TreeEntry;
}

function diffEntries(recorded: readonly TreeEntry[], current: readonly TreeEntry[]): EntryChange[] {
  const was = new Map(recorded.map((e) => [e.path, e]));
  const is = new Map(current.map((e) => [e.path, e]));
  const out: EntryChange[] = [];
  for (const [path, e] of was) {
    const n = is.get(path);
    if (!n) out.push({ path, change: 'removed', was: e });
    else if (n.type !== e.type) out.push({ path, change: 'type', was: e, now: n });
    else if (n.sha256 !== e.sha256) out.push({ path, change: 'content', was: e, now: n });
  }
  for (const [path, n] of is) if (!was.has(path)) out.push({ path, change: 'added', now: n });
  return out;
}

/** Compares what is on disk at a parameter's path with what the record (and its manifest) says was there. */
async function checkParam(p: RecordedParam, ws: string, manifests: Manifests, later: Map<string, LaterFile>, problems: string[], notes: string[]): Promise<void> {
  if (p.base === 'workspace' && !isSafeRelative(p.path)) return void problems.push(`${p.io} ${p.name}: the recorded path "${p.path}" climbs out of the workspace`);
  const abs = hostPathOf(p, ws);
  const what = `${p.io} ${p.name} (${abs})`;
  if (p.base === 'absolute') notes.push(`${p.io} ${p.name}: outside the workspace, checked at its absolute path ${p.path}`);
  if (!p.digest) {
    if (p.io === 'output') return void problems.push(`${what}: the run produced ${p.found === 'missing' ? 'nothing' : `a ${p.found}, not a ${p.type},`} there`);
    if (p.found !== 'missing') return void problems.push(`${what}: was a ${p.found} when the run started, not a ${p.type}`);
    // An optional input the run went without (a required one stops the run before it starts): absent still, as recorded.
    const since = await digestPath(abs, paramDigestOptions(abs, ws));
    if (since.type !== 'missing') return void problems.push(`${what}: was missing when the run started (an optional input), is now a ${since.type}`);
    return void notes.push(`${p.io} ${p.name}: absent, as when the run started (an optional input)`);
  }
  const now = await digestPath(abs, paramDigestOptions(abs, ws));
  if (now.type === 'missing') return void problems.push(`${what}: missing`);
  if (now.type !== p.type) return void problems.push(`${what}: was a ${p.type}, is now a ${now.type}`);
  if (now.sha256 === p.digest.sha256) return;
  if (p.type === 'file') return void problems.push(`${what}: sha256 differs (recorded ${short(p.digest.sha256)}, now ${short(now.sha256)})`);
  const changes = diffEntries(manifests.get(manifestKey(p)) ?? [], now.entries ?? []);
  for (const c of changes) {
    if (c.change === 'removed') problems.push(`${what}: ${c.path} is missing`);
    else if (c.change === 'type') problems.push(`${what}: ${c.path} was a ${c.was!.type}, is now a ${c.now!.type}`);
    else if (c.change === 'content') explain(`${c.path} differs (recorded ${short(c.was!.sha256)}, now ${short(c.now!.sha256)})`, c.path, c.now!);
    else explain(`${c.path} was added${c.now!.type === 'file' ? ` (sha256 ${short(c.now!.sha256)})` : ` (a ${c.now!.type})`}`, c.path, c.now!);
  }
  // Digests differ but no entry does: only possible when the manifest was not what the digest covers.
  if (changes.length === 0) problems.push(`${what}: tree digest differs (recorded ${short(p.digest.sha256)}, now ${short(now.sha256)})`);

  function explain(msg: string, path: string, n: TreeEntry): void {
    const key = p.path === '.' ? path : `${p.path}/${path}`;
    const l = later.get(key);
    if (p.base === 'workspace' && n.type === 'file' && l && l.sha256 === n.sha256) notes.push(`${what}: ${path} was written later by run ${l.run}`);
    else if (p.base === 'workspace' && n.type === 'dir' && [...later.keys()].some((k) => k.startsWith(key + '/'))) notes.push(`${what}: directory ${path} was made later by another verified run`);
    else problems.push(`${what}: ${msg}`);
  }
}

/** The run's captured stdout/stderr against the digests the record holds. */
function checkCapturedOutput(dir: string, record: RunRecord, problems: string[]): void {
  for (const stream of ['stdout', 'stderr'] as const) {
    const c = record.output[stream];
    if (!c) continue;
    const read = readRegularFile(join(dir, c.file));
    if (!read.ok) problems.push(`${stream}: the saved task output ${c.file} ${read.why}`);
    else if (read.data.length !== c.bytes || sha256Hex(read.data) !== c.sha256)
      problems.push(`${stream}: the saved task output ${c.file} was altered (sha256 ${short(sha256Hex(read.data))}, recorded ${short(c.sha256)})`);
  }
}

/** The cube file and, for host runs, the cube's code, against the cube root now. */
async function checkCube(record: RunRecord, root: string | null, code: TreeEntry[] | undefined, problems: string[]): Promise<void> {
  if (!record.runs_on_host && !record.image?.digest) problems.push(`image: the run used the ${record.runner} runner but the record names no image digest, so what ran cannot be told`);
  if (record.runs_on_host && !record.cube.code) problems.push("cube code: the task ran on the host but the record holds no digest of the cube's code");
  if (!root) return void problems.push('cube: the cube root is unknown (pass --cube=DIR)');
  if (!isSafeRelative(record.cube.file)) return void problems.push(`cube file: the recorded path "${record.cube.file}" climbs out of the cube root`);
  const file = join(root, ...record.cube.file.split('/'));
  const cube = await digestPath(file);
  if (cube.type !== 'file') problems.push(`cube file ${file}: ${cube.type === 'missing' ? 'missing' : `is a ${cube.type}`}`);
  else if (cube.sha256 !== record.cube.sha256) problems.push(`cube file ${file}: sha256 differs (recorded ${short(record.cube.sha256)}, now ${short(cube.sha256)})`);
  if (!record.cube.code || !code) return;
  // The exclusions are the signed record's own: the same tree is compared, wherever the cube now lies.
  const now = await digestCode(root, record.cube.code.excluded);
  if (now.digest.sha256 === record.cube.code.sha256) return;
  const changed = diffEntries(code, now.entries).map((c) => `${c.path} ${c.change === 'type' || c.change === 'content' ? 'changed' : c.change}`);
  problems.push(`cube code in ${root}: changed since the run (${changed.slice(0, 5).join(', ')}${changed.length > 5 ? `, and ${changed.length - 5} more` : ''})`);
}

/** The cube root to check: --cube, else relative to the workspace when the workspace lay inside it, else the recorded absolute root. */
function cubeRootOf(record: RunRecord, target: VerifyTarget, notes: string[]): string | null {
  if (target.cubeRoot) return target.cubeRoot;
  const rel = record.cube.root_from_workspace;
  if (rel !== null) return rel === '.' ? target.workspace : rel.split('/').every((s) => s === '..') ? join(target.workspace, ...rel.split('/')) : null;
  notes.push(`cube: checked at its recorded absolute root ${record.cube.root} (pass --cube=DIR to check another copy)`);
  return record.cube.root;
}

/** The problem a run that failed its release gates verifies with (a model card shows such a run: src/app/card.ts). */
export function releaseProblem(record: RunRecord): string {
  const failed = (record.gates?.results ?? []).filter((g) => g.outcome === 'failed');
  return `release: the run failed its release gates: ${failed.map((g) => `${g.name} (${g.reason})`).join('; ')}`;
}

/**
 * Verifies one run, failing closed: the record must be a well-formed v2 record whose id is its directory's name,
 * succeeded, signed by the trusted key (keyid included), its signed statement equal to the record, its manifests
 * intact, and every recorded digest (inputs, outputs, saved task output, cube file, cube code) must match the
 * files of the workspace the record was found in. Any doubt is a problem.
 */
export async function verifyRun(target: VerifyTarget, key: TrustedKey | undefined): Promise<VerifyResult> {
  const problems: string[] = [];
  const notes: string[] = [];
  const id = basename(target.dir);
  const trusted_key = key ? { keyid: keyId(key.key), source: key.source } : null;
  let unsigned = false;
  const result = (cube_root: string | null) => ({ run_id: id, ok: problems.length === 0, problems, notes, unsigned, trusted_key, workspace: target.workspace, cube_root });
  const read = readRecord(target.dir);
  if (!read.record) {
    problems.push(...read.problems);
    return result(null);
  }
  const record = read.record;
  unsigned = !record.signature;
  if (record.run_id !== id) problems.push(`record: it is the record of run ${record.run_id}, found in the directory of run ${id}`);
  const status = shownStatus(record);
  if (record.gates?.release === 'failed') problems.push(releaseProblem(record));
  else if (status !== 'succeeded') problems.push(`status: the run is ${status}${record.exit_code !== null ? ` (exit code ${record.exit_code})` : ''}, not succeeded`);
  const { manifests, code, problems: manifestProblems } = readManifests(target.dir, record);
  problems.push(...manifestProblems);
  problems.push(...recheckGates(record, manifests, target.workspace));
  for (const p of record.policies ?? []) notes.push(`policy: allowed by ${p.name ?? p.file} (sha256 ${p.sha256.slice(0, 12)}..., ${p.rules.length} rules passed)`);
  if (record.gates?.release === 'passed') notes.push(`release: passed (gates ${record.gates.results.map((g) => g.name).join(', ')}, re-checked from the record)`);
  checkSignature(target.dir, record, manifests, key, problems);
  checkCapturedOutput(target.dir, record, problems);
  const later = laterOutputs(target.dir, record, key);
  for (const p of record.parameters) await checkParam(p, target.workspace, manifests, later, problems, notes);
  const root = cubeRootOf(record, target, notes);
  await checkCube(record, root, code, problems);
  return result(root);
}
