import { formatBytes } from './units.js';
import type { GateKind, GateOp, GateSpec } from './spec.js';

/** What was found for a gate: a value of any JSON type (judged below), or why there is none. */
export type Measurement = { found: true; value: unknown } | { found: false; why: string };

/** One gate's result as the run record keeps it (schemas/run-record.schema.json $defs/gate_result). */
export interface GateResult {
  name: string;
  kind: GateKind;
  /** metric: the metric's name; json: the parameter (and the file inside it); size: the parameter. */
  source: string;
  /** json: the path of the number in the file; else null. */
  key: string | null;
  op: GateOp;
  /** size: bytes. */
  threshold: number;
  /** The value compared (size: bytes); NaN and ±Infinity as the strings "NaN", "Infinity", "-Infinity"; null when none was found or it was not a number. */
  value: number | 'NaN' | 'Infinity' | '-Infinity' | null;
  outcome: 'passed' | 'failed';
  /** One sentence: the comparison made, or why the gate failed without one. */
  reason: string;
}

/** A task's release decision: passed only when every gate passed (and there was at least one). */
export interface GateReport {
  release: 'passed' | 'failed';
  results: GateResult[];
}

const COMPARE: Readonly<Record<GateOp, (a: number, b: number) => boolean>> = {
  '>=': (a, b) => a >= b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '<': (a, b) => a < b,
  '==': (a, b) => a === b,
};

const show = (kind: GateKind, n: number) => (kind === 'size' ? formatBytes(n) : String(n));
const jsonSafe = (x: number): GateResult['value'] => (Number.isFinite(x) ? x : Number.isNaN(x) ? 'NaN' : x > 0 ? 'Infinity' : '-Infinity');

/** Where a gate's value comes from, in words. */
export function describeSource(g: Pick<GateSpec, 'kind' | 'source' | 'key'>): string {
  if (g.kind === 'metric') return `metric ${g.source}`;
  if (g.kind === 'json') return `${g.source} key ${g.key}`;
  return `size of ${g.source}`;
}

/**
 * Judges one gate, failing closed: nothing found, a value that is not a number (a string, a boolean, null, a
 * list...) or not finite (NaN, ±Infinity) is a failure, never a pass.
 */
export function judge(g: GateSpec, m: Measurement): GateResult {
  const base = { name: g.name, kind: g.kind, source: g.source, key: g.key ?? null, op: g.op, threshold: g.threshold };
  const failed = (value: GateResult['value'], reason: string): GateResult => ({ ...base, value, outcome: 'failed', reason });
  if (!m.found) return failed(null, m.why);
  const v = m.value;
  if (typeof v !== 'number')
    return failed(
      null,
      `${describeSource(g)} is ${v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'a mapping' : `the ${typeof v} ${JSON.stringify(v).slice(0, 40)}`}, not a number`,
    );
  if (!Number.isFinite(v)) return failed(jsonSafe(v), `${describeSource(g)} is ${v}, not a finite number`);
  const ok = COMPARE[g.op](v, g.threshold);
  const reason = `${describeSource(g)} = ${show(g.kind, v)}${ok ? '' : ', not'} ${g.op} ${show(g.kind, g.threshold)}`;
  return { ...base, value: v, outcome: ok ? 'passed' : 'failed', reason };
}

/** Every gate judged, in order; the release passes only when all of them did. */
export function evaluateGates(gates: readonly GateSpec[], measure: (g: GateSpec) => Measurement): GateReport {
  const results = gates.map((g) => judge(g, measure(g)));
  return { release: results.length > 0 && results.every((r) => r.outcome === 'passed') ? 'passed' : 'failed', results };
}

/** The release decision in lines, one per gate: what the error message and the log print. */
export function describeReport(report: GateReport): string[] {
  return report.results.map((r) => `${r.outcome === 'passed' ? 'passed' : 'FAILED'} ${r.name}: ${r.reason}`);
}
