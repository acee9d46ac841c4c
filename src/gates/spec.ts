import { ConfigError } from '../errors.js';
import { isTree, type Tree } from '../config/tree.js';
import { parseSize } from './units.js';

/** The comparison a gate makes, as the record and messages write it. */
export type GateOp = '>=' | '<=' | '>' | '<' | '==';
/** The operator keys of a gate in mlcube.yaml (schemas/mlcube.schema.json $defs/gate). */
export const OPERATORS: Readonly<Record<string, GateOp>> = { min: '>=', max: '<=', above: '>', below: '<', equals: '==' };
/** The key that writes each operator (for the -P override a message suggests). */
export const OPERATOR_KEY: Readonly<Record<GateOp, string>> = { '>=': 'min', '<=': 'max', '>': 'above', '<': 'below', '==': 'equals' };
/** What a gate measures: a metric row's final value, a number in a JSON file, or a parameter's size in bytes. */
export type GateKind = 'metric' | 'json' | 'size';
const KINDS: readonly GateKind[] = ['metric', 'json', 'size'];

/** The parameters of the task a gate may name (a ResolvedParam or a RecordedParam). */
export interface GateParam {
  name: string;
  io: 'input' | 'output';
  type: 'file' | 'directory';
}

/** One gate of a task, checked: its source names something the task has, its threshold is a number (bytes for size). */
export interface GateSpec {
  name: string;
  kind: GateKind;
  /** metric: the metric's name; json: the parameter, then `/<file inside it>` for a directory; size: the parameter. */
  source: string;
  /** json: the parameter and the file inside a directory parameter ('' for a file parameter). */
  param?: { io: 'input' | 'output'; name: string; file: string };
  /** json: the dot-separated path of the number. */
  key?: string;
  op: GateOp;
  threshold: number;
}

/**
 * The gates of a task (`tasks.<task>.gates`, already schema-checked) against its parameters; throws a ConfigError
 * carrying the key's configuration path (the config layer locates it: file:line:col or the -P override).
 */
export function parseGates(task: string, gates: unknown, params: readonly GateParam[]): GateSpec[] {
  if (!isTree(gates)) return [];
  return Object.entries(gates).map(([name, g]) => parseGate(task, name, (g ?? {}) as Tree, params));
}

function parseGate(task: string, name: string, g: Tree, params: readonly GateParam[]): GateSpec {
  const at = (key?: string) => ['tasks', task, 'gates', name, ...(key ? [key] : [])];
  const fail = (detail: string, fix: string, key?: string) => new ConfigError(`task "${task}", gate "${name}": ${detail}`, { configPath: at(key), suggestions: [fix] });
  const kinds = KINDS.filter((k) => g[k] !== undefined);
  if (kinds.length !== 1)
    throw fail(
      kinds.length ? `names ${kinds.join(' and ')}: a gate measures one thing` : 'measures nothing',
      'Give exactly one of metric: <name>, json: <parameter> (with key:), size: <parameter> (README "Release gates").',
      kinds[1],
    );
  const ops = Object.keys(OPERATORS).filter((k) => g[k] !== undefined);
  if (ops.length !== 1)
    throw fail(ops.length ? `has ${ops.length} operators (${ops.join(', ')})` : 'has no threshold', 'Give exactly one of min, max, above, below, equals with its threshold, e.g. min: 0.97.', ops[1]);
  const kind = kinds[0];
  const source = String(g[kind]);
  const opKey = ops[0];
  const threshold = thresholdOf(g[opKey], kind, (d, f) => fail(d, f, opKey));
  const spec: GateSpec = { name, kind, source, op: OPERATORS[opKey], threshold };
  if (g.key !== undefined && kind !== 'json') throw fail(`key: is for json gates, this one measures ${kind}`, 'Drop key:, or measure a JSON file with json: <parameter>.', 'key');
  if (kind === 'metric') return spec;
  const [paramName, ...inner] = source.split('/');
  const p = params.find((x) => x.name === paramName && x.io === 'output') ?? params.find((x) => x.name === paramName);
  const names = [...new Set(params.map((x) => x.name))].join(', ') || 'none';
  if (!p) throw fail(`${kind}: "${source}" names no parameter of the task (parameters: ${names})`, `Name one of the task's parameters: ${names}.`, kind);
  if (kind === 'size') {
    if (inner.length) throw fail(`size: "${source}": a size gate measures a whole parameter`, `Write size: ${paramName}.`, kind);
    return { ...spec, param: { io: p.io, name: p.name, file: '' } };
  }
  const file = inner.join('/');
  if (p.type === 'file' && file) throw fail(`json: "${source}": parameter ${paramName} is a file, it has nothing inside`, `Write json: ${paramName}.`, kind);
  if (p.type === 'directory' && (!file || inner.some((s) => s === '' || s === '.' || s === '..')))
    throw fail(
      `json: "${source}": parameter ${paramName} is a directory${file ? ' and the path inside it must not climb or be empty' : ''}`,
      `Name the JSON file inside it, e.g. json: ${paramName}/metrics.json.`,
      kind,
    );
  if (typeof g.key !== 'string' || g.key.split('.').some((s) => s === ''))
    throw fail('json gates need key: <dot-separated path of the number>', 'Add e.g. key: accuracy (or per_class.0 for the first item of a list).', 'key');
  return { ...spec, param: { io: p.io, name: p.name, file }, key: g.key };
}

function thresholdOf(v: unknown, kind: GateKind, fail: (detail: string, fix: string) => ConfigError): number {
  if (typeof v === 'string' && kind === 'size') {
    const bytes = parseSize(v);
    if (bytes !== undefined) return bytes;
  }
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw fail(
      `the threshold ${typeof v === 'number' ? v : JSON.stringify(v)} is not a finite number${typeof v === 'string' && kind !== 'size' ? ' (units are for size gates)' : ''}`,
      kind === 'size' ? 'Write bytes or a size with a unit, e.g. 10MB or 512KiB.' : 'Write a number, e.g. 0.97.',
    );
  return v;
}
