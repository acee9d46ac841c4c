import { join } from 'node:path';
import { canonicalize } from '../provenance/canonical-json.js';
import { hostPathOf } from '../provenance/paths.js';
import { manifestKey, type Manifests, type RunRecord } from '../provenance/record.js';
import { isTree } from '../config/tree.js';
import { evaluateGates, type GateResult, type Measurement } from './evaluate.js';
import { jsonMeasure, metricMeasure } from './measure.js';
import { parseGates, type GateSpec } from './spec.js';

/** What of a result is re-derived (the reason may name a path of the workspace as it was). */
const essence = (r: GateResult) => canonicalize({ ...r, reason: null });

/**
 * `provenance verify`'s check of a record's release decision, failing closed: the gates its configuration declares
 * are judged again from what the record holds (final metrics, sizes from its digests and manifests) and the JSON
 * files in the workspace (whose digests verify checks), and must give exactly the recorded results; the decision
 * must follow from them, and the status from the decision (failed: status failed, exit_code 7).
 */
export function recheckGates(record: RunRecord, manifests: Manifests, workspace: string): string[] {
  const problems: string[] = [];
  const task = isTree(record.config) && isTree(record.config.tasks) ? record.config.tasks[record.task] : undefined;
  let specs: GateSpec[];
  try {
    specs = parseGates(record.task, isTree(task) ? task.gates : undefined, record.parameters);
  } catch (e) {
    return [`gates: the recorded configuration's gates cannot be read (${(e as Error).message})`];
  }
  const g = record.gates;
  if (!g) {
    if (specs.length && record.status === 'succeeded') problems.push(`gates: the task declares ${specs.length} release gate(s) but the record holds no release decision`);
    return problems;
  }
  if (!specs.length) return ['gates: the record holds a release decision but its configuration declares no gates'];
  const derived = evaluateGates(specs, (s) => measureFromRecord(s, record, manifests, workspace));
  const recorded = Array.isArray(g.results) ? g.results : [];
  for (const [i, r] of derived.results.entries()) {
    const was = recorded.find((x) => x?.name === r.name);
    if (!was) problems.push(`gates: gate ${r.name} is declared but has no recorded result`);
    else if (essence(was) !== essence(r)) problems.push(`gates: gate ${r.name} is recorded ${was.outcome} (value ${String(was.value)}), the record's own data give ${r.outcome} (${r.reason})`);
    else if (recorded.indexOf(was) !== i) problems.push(`gates: gate ${r.name} is out of order`);
  }
  for (const x of recorded) if (!derived.results.some((r) => r.name === x?.name)) problems.push(`gates: gate ${String(x?.name)} is recorded but not declared`);
  if (g.release !== derived.release) problems.push(`gates: the record says release ${String(g.release)}, its gates give ${derived.release}`);
  const failedRun = record.status === 'failed' && record.exit_code === 7;
  if (g.release === 'failed' && !failedRun) problems.push(`gates: the release failed but the run is ${record.status} (exit code ${record.exit_code}), not failed with exit code 7`);
  if (g.release === 'passed' && record.status !== 'succeeded') problems.push(`gates: the release passed but the run is ${record.status}`);
  return problems;
}

function measureFromRecord(s: GateSpec, record: RunRecord, manifests: Manifests, workspace: string): Measurement {
  if (s.kind === 'metric') {
    const final = record.metrics.final;
    return metricMeasure(new Map(Object.entries(final).map(([k, v]) => [k, typeof v === 'number' ? v : Number(v)])), s.source);
  }
  const p = record.parameters.find((x) => x.io === s.param!.io && x.name === s.param!.name)!;
  if (!p.digest) return { found: false, why: `${p.io} ${p.name} was a ${p.found} when it was digested` };
  if (s.kind === 'size') {
    if (p.digest.algorithm === 'sha256') return { found: true, value: p.digest.size };
    const entries = manifests.get(manifestKey(p));
    if (!entries) return { found: false, why: `${p.io} ${p.name}: its manifest could not be read` };
    return { found: true, value: entries.reduce((n, e) => n + (e.type === 'file' ? (e.size ?? 0) : 0), 0) };
  }
  const base = hostPathOf(p, workspace);
  return jsonMeasure(s.param!.file ? join(base, ...s.param!.file.split('/')) : base, s.key!);
}
