import { isDeepStrictEqual } from 'node:util';
import { relative, sep } from 'node:path';
import { isMap, isScalar, isSeq, parse as parseYamlScalar, parseDocument, type Document } from 'yaml';
import { ConfigError, UsageError, type ErrorPlace } from '../errors.js';
import { YAML_11 } from '../config/yaml-schema.js';
import { isTree, type Tree } from '../config/tree.js';
import { declaredPaths, type PathContext } from '../params/resolve.js';
import { within } from '../params/isolation.js';
import { descendants, type TaskGraph } from './graph.js';

/** A swept value: as typed (or as the sweep file holds it) and as a -P override's text that reads back as it. */
export interface SweepValue {
  value: string | number | boolean | null;
  text: string;
}

/** One key of a sweep and where it was given (`--sweep ...`, or the sweep file's place). */
export interface SweepKeySpec {
  key: string;
  place: ErrorPlace;
  /** How the place reads in a message when it is the command line. */
  from: string;
}

/**
 * A factor of the sweep: a list of assignments, each setting some keys. `--sweep K=a,b` and each key of a sweep
 * file's `grid` is a factor of one key; a sweep file's `points` is one factor of several keys. The sweep's points
 * are the product of its factors, the first factor varying slowest.
 */
export interface SweepFactor {
  keys: SweepKeySpec[];
  choices: Record<string, SweepValue>[];
}

/** One point of the sweep, numbered from 0: every swept key's value. */
export interface SweepPoint {
  index: number;
  values: Record<string, SweepValue>;
}

/** What a sweep key names: a configuration key (a -P key) or a key inside a workspace file (`FILE:dotted.key`). */
export type SweepTarget = { kind: 'config'; key: string } | { kind: 'file'; file: string; path: string[] };

const fix = (s: string) => ({ suggestions: [s] });

/** A value as YAML reads a -P value (0.001 is a number), kept with its text. */
export function sweepValue(text: string): SweepValue {
  let value: unknown;
  try {
    value = text === '' ? '' : parseYamlScalar(text, YAML_11);
  } catch {
    value = text;
  }
  if (value !== null && typeof value === 'object') value = text; // [a] or {a: 1}: kept as the text typed
  return { value: value as SweepValue['value'], text };
}

/** A value of a sweep file as a -P override's text that reads back as the same value. */
export function valueText(value: SweepValue['value']): string {
  if (typeof value !== 'string') return String(value);
  return isDeepStrictEqual(sweepValue(value).value, value) && !value.includes(',') ? value : JSON.stringify(value);
}

/** `--sweep KEY=V1,V2,...`: one factor of one key; an empty list or value is a UsageError naming the flag. */
export function sweepFlagFactor(raw: string): SweepFactor {
  const from = `--sweep ${raw}`;
  const eq = raw.indexOf('=');
  if (eq <= 0) throw new UsageError(`${from}: expected KEY=V1,V2,... (a key, "=", the values separated by commas)`, fix('e.g. --sweep train.yaml:learning_rate=0.001,0.01'));
  const key = raw.slice(0, eq).trim();
  const texts = raw.slice(eq + 1).split(',');
  if (texts.every((t) => t.trim() === '')) throw new UsageError(`${from}: the value list is empty`, fix(`Give at least one value: --sweep ${key}=V1,V2.`));
  const blank = texts.findIndex((t) => t.trim() === '');
  if (blank >= 0) throw new UsageError(`${from}: value ${blank + 1} is empty`, fix('Remove the extra comma, or give a sweep file (--sweep-file) for values with commas or empty ones.'));
  const spec = { key, place: {}, from };
  parseSweepKey(spec);
  return { keys: [spec], choices: texts.map((t) => ({ [key]: sweepValue(t.trim()) })) };
}

/** What a sweep file holds (schemas/sweep.schema.json has checked its shape) with each key's place in it. */
export interface SweepFileContent {
  grid?: Record<string, SweepValue['value'][]>;
  points?: Record<string, SweepValue['value']>[];
}

/** A sweep file's factors: each `grid` key, or the `points` list. `placeOf` locates a path in the file. */
export function sweepFileFactors(content: SweepFileContent, file: string, placeOf: (path: (string | number)[], atKey?: boolean) => ErrorPlace): SweepFactor[] {
  const spec = (key: string, path: (string | number)[]): SweepKeySpec => {
    const s = { key, place: placeOf(path, true), from: `the sweep file ${file}` };
    parseSweepKey(s);
    return s;
  };
  const toValue = (v: SweepValue['value']): SweepValue => ({ value: v, text: valueText(v) });
  if (content.grid) return Object.entries(content.grid).map(([key, list]) => ({ keys: [spec(key, ['grid', key])], choices: list.map((v) => ({ [key]: toValue(v) })) }));
  const points = content.points ?? [];
  const keys: SweepKeySpec[] = [];
  points.forEach((p, i) => Object.keys(p).forEach((k) => keys.some((s) => s.key === k) || keys.push(spec(k, ['points', i, k]))));
  return [{ keys, choices: points.map((p) => Object.fromEntries(Object.entries(p).map(([k, v]) => [k, toValue(v)]))) }];
}

/** A key as it names a configuration key or a file's key; a malformed one is a UsageError at its place. */
export function parseSweepKey(spec: SweepKeySpec): SweepTarget {
  const bad = (what: string, f: string) => new UsageError(`${spec.from}: the sweep key "${spec.key}" ${what}`, { place: spec.place, suggestions: [f] });
  const colon = spec.key.indexOf(':');
  const dotted = (s: string) => s.split('.');
  if (colon < 0) {
    const parts = dotted(spec.key);
    if (parts.some((p) => p === '' || p === '__proto__'))
      throw bad('is not a dotted configuration key', 'Name a -P key such as tasks.train.parameters.inputs.train_config, or FILE:key such as train.yaml:learning_rate.');
    return { kind: 'config', key: spec.key };
  }
  const file = spec.key.slice(0, colon);
  const path = dotted(spec.key.slice(colon + 1));
  if (file === '' || path.some((p) => p === '' || p === '__proto__')) throw bad('is not FILE:dotted.key', 'Write the workspace-relative file, ":", and the key in it, e.g. train.yaml:learning_rate.');
  if (file.startsWith('/') || file.split(/[\\/]/).includes('..'))
    throw bad(`names ${file}, which is not a workspace-relative file`, 'Name a file inside the workspace, relative to it, e.g. train.yaml:learning_rate.');
  return { kind: 'file', file, path };
}

/**
 * The sweep's points: the product of its factors, the first varying slowest, numbered from 0. A key swept by two
 * factors is a UsageError at its second place.
 */
export function expandSweep(factors: readonly SweepFactor[]): SweepPoint[] {
  const seen = new Map<string, SweepKeySpec>();
  for (const f of factors) {
    for (const k of f.keys) {
      const first = seen.get(k.key);
      if (first) throw new UsageError(`${k.from}: the key "${k.key}" is swept twice (also by ${first.from})`, { place: k.place, suggestions: ['Give each key once, with all its values.'] });
      seen.set(k.key, k);
    }
    if (f.choices.length === 0) {
      const k = f.keys[0];
      throw new UsageError(`${k?.from ?? 'the sweep'}: the value list${k ? ` of "${k.key}"` : ''} is empty`, { place: k?.place, suggestions: ['Give at least one value.'] });
    }
  }
  let points: Record<string, SweepValue>[] = [{}];
  for (const f of factors) points = points.flatMap((p) => f.choices.map((c) => ({ ...p, ...c })));
  return points.map((values, index) => ({ index, values }));
}

/** Every key of the sweep, in the order its factors give them. */
export const sweepKeys = (factors: readonly SweepFactor[]): SweepKeySpec[] => factors.flatMap((f) => f.keys);

/** The segments of a dotted key in a YAML document: a list index where the node is a list. */
function docPath(doc: Document, path: readonly string[]): (string | number)[] | undefined {
  const out: (string | number)[] = [];
  let node: unknown = doc.contents;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : undefined) === seg);
      if (!pair) return undefined;
      out.push(isScalar(pair.key) ? (pair.key.value as string) : seg);
      node = pair.value;
    } else if (isSeq(node) && /^(0|[1-9][0-9]*)$/.test(seg) && Number(seg) < node.items.length) {
      out.push(Number(seg));
      node = node.items[Number(seg)];
    } else return undefined;
  }
  return out;
}

/** Top-level keys of a YAML document, for "no such key" messages. */
function topKeys(doc: Document): string[] {
  return isMap(doc.contents) ? doc.contents.items.map((p) => (isScalar(p.key) ? String(p.key.value) : '?')) : [];
}

/**
 * A point's copy of a workspace file (YAML, comments kept): `text` with each key set. A key the file lacks is a
 * ConfigError at the file naming the sweep key; the file must parse.
 */
export function derivedFile(text: string, file: string, sets: readonly { spec: SweepKeySpec; path: readonly string[]; value: SweepValue['value'] }[]): string {
  const doc = parseDocument(text, { ...YAML_11, prettyErrors: false });
  if (doc.errors.length)
    throw new ConfigError(`${file} does not parse as YAML (${doc.errors[0].message.split('\n')[0]}), so its keys cannot be swept`, {
      place: { file },
      ...fix(`Fix ${file}, or sweep a -P key instead.`),
    });
  for (const s of sets) {
    const at = docPath(doc, s.path);
    if (!at) {
      throw new ConfigError(`${s.spec.from}: ${file} has no key "${s.path.join('.')}" (its keys: ${topKeys(doc).join(', ') || 'none'})`, {
        place: { file },
        suggestions: [`Sweep a key the file has, e.g. ${s.spec.key.slice(0, s.spec.key.indexOf(':') + 1)}${topKeys(doc)[0] ?? 'key'}; or add "${s.path.join('.')}" to ${file}.`],
      });
    }
    doc.setIn(at, s.value);
  }
  return doc.toString();
}

/**
 * The tasks a sweep changes: those of `graph` whose `tasks.<t>` section differs between the configuration without
 * the sweep (`base`) and some point's (`points`), every task when anything outside `tasks` differs (an image, a
 * runner setting), and what waits for them. In graph order.
 */
export function affectedTasks(base: Tree, points: readonly Tree[], graph: TaskGraph): string[] {
  const strip = (c: Tree) => Object.fromEntries(Object.entries(c).filter(([k]) => !['tasks', 'runtime', 'workspace'].includes(k)));
  const changed = new Set<string>();
  for (const p of points) {
    if (!isDeepStrictEqual(strip(base), strip(p))) graph.order.forEach((t) => changed.add(t));
    for (const t of graph.order) if (!isDeepStrictEqual((base.tasks as Tree)[t], (p.tasks as Tree)[t])) changed.add(t);
  }
  for (const t of [...changed]) descendants(graph, t).forEach((d) => changed.add(d));
  return graph.order.filter((t) => changed.has(t));
}

/**
 * -P overrides that give a point outputs of its own: every parameter (input or output) of an affected task whose
 * path is, or lies inside, an output of an affected task moves to `<prefix>/<its workspace-relative path>`. An
 * affected output outside the workspace is a ConfigError at that parameter (points would share it).
 */
export function rerootOverrides(cfg: Tree, affected: readonly string[], ctx: PathContext, prefix: string, placeOf?: (path: string[]) => ErrorPlace): string[] {
  const declared = new Map(affected.map((t) => [t, declaredPaths(cfg, t, ctx)]));
  const outputs = [...declared.entries()].flatMap(([task, ps]) => ps.filter((p) => p.io === 'output').map((p) => ({ task, ...p })));
  for (const o of outputs) {
    if (!within(o.path, ctx.workspace) || o.path === ctx.workspace) {
      throw new ConfigError(`output "${o.name}" is ${o.path}, ${o.path === ctx.workspace ? 'the workspace itself' : 'outside the workspace'}: the points of a sweep would all write it`, {
        place: { ...placeOf?.(['tasks', o.task, 'parameters', 'outputs', o.name]), task: o.task, parameter: o.name },
        suggestions: [`Give it a path inside the workspace ${ctx.workspace} (e.g. -Ptasks.${o.task}.parameters.outputs.${o.name}.default=${o.name}), or run the points one by one.`],
      });
    }
  }
  const out: string[] = [];
  for (const [task, ps] of declared) {
    for (const p of ps) {
      if (!outputs.some((o) => within(p.path, o.path))) continue;
      const rel = relative(ctx.workspace, p.path).split(sep).join('/');
      out.push(`tasks.${task}.parameters.${p.io}s.${p.name}.default=${prefix}/${rel}`);
    }
  }
  return out;
}

/** A -P override's key (before `=`). */
export const overrideKey = (o: string) => o.slice(0, o.indexOf('='));

/** `name=value` / `--name=value` task overrides naming one of `names`, split off from the others. */
export function splitTaskArgs(taskArgs: readonly string[], names: ReadonlySet<string>): { kept: string[]; taken: [string, string][] } {
  const kept: string[] = [];
  const taken: [string, string][] = [];
  for (const a of taskArgs) {
    const m = /^(?:--)?([^=\s-][^=\s]*)=(.*)$/s.exec(a);
    if (m && names.has(m[1])) taken.push([m[1], m[2]]);
    else kept.push(a);
  }
  return { kept, taken };
}

/** The task overrides that name a parameter of one of `scope` (a run of those tasks rejects the others). */
export function scopedTaskArgs(taskArgs: readonly string[], tasks: Tree, scope: readonly string[]): string[] {
  const names = new Set<string>();
  for (const t of scope) {
    const params = isTree(tasks[t]) && isTree((tasks[t] as Tree).parameters) ? ((tasks[t] as Tree).parameters as Tree) : {};
    for (const io of ['inputs', 'outputs']) if (isTree(params[io])) Object.keys(params[io] as Tree).forEach((n) => names.add(n));
  }
  return taskArgs.filter((a) => {
    const m = /^(?:--)?([^=\s-][^=\s]*)=/s.exec(a);
    return !m || names.has(m[1]);
  });
}

/**
 * Task overrides as -P overrides of every task of `tasks` with that parameter (what `name=value` does), so that a
 * point's own -P overrides of one of them, which come later, win (a task override would win over any -P).
 */
export function taskArgsAsParams(tasks: Tree, taken: readonly [string, string][]): string[] {
  const out: string[] = [];
  for (const [name, value] of taken) {
    for (const [t, task] of Object.entries(tasks)) {
      const params = isTree(task) && isTree(task.parameters) ? task.parameters : {};
      for (const io of ['inputs', 'outputs']) if (isTree(params[io]) && name in (params[io] as Tree)) out.push(`tasks.${t}.parameters.${io}.${name}.default=${valueText(value)}`);
    }
  }
  return out;
}

/** `<experiment or "sweep">-<UTC stamp>-<6 hex>` (README "Sweeps and experiments"). */
export function sweepId(experiment: string | undefined, now: Date, hex: string): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${experiment ?? 'sweep'}-${stamp}-${hex}`;
}

/** An experiment name: a word that may name a directory (it starts a sweep's id). */
export function checkExperiment(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/.test(name)) {
    throw new UsageError(`--experiment=${name}: expected a name of letters, digits, "_", "." and "-" (at most 100, starting with a letter or digit)`, fix('e.g. --experiment=mnist-lr'));
  }
  return name;
}

/** `--tag=KEY=VALUE` (repeatable) as an object; a key given twice keeps the last value. */
export function parseTags(tags: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags) {
    const eq = t.indexOf('=');
    if (eq <= 0 || !/^[A-Za-z0-9_.-]+$/.test(t.slice(0, eq))) throw new UsageError(`--tag=${t}: expected KEY=VALUE (a key of letters, digits, "_", "." or "-")`, fix('e.g. --tag=owner=alice'));
    out[t.slice(0, eq)] = t.slice(eq + 1);
  }
  return out;
}
