import { ConfigError, type ErrorPlace } from '../errors.js';
import { isTree, type Tree } from '../config/tree.js';
import type { ConfigPlaceOf } from '../config/config-places.js';
import { declaredPaths, type DeclaredPath, type PathContext } from '../params/resolve.js';
import { within } from '../params/isolation.js';

/** Why one task must end before another starts. */
export type EdgeReason =
  /** The child reads (`input`) what the parent writes (`output`): the same path, or one inside the other. */
  | { kind: 'data'; output: string; input: string; path: string }
  /** The child's `depends_on` names the parent. */
  | { kind: 'depends_on' }
  /** Both write the same file (or one writes inside the other's output): the cube file's order decides. */
  | { kind: 'same_output'; output: string; other: string; path: string };

export interface GraphEdge {
  from: string;
  to: string;
  reasons: EdgeReason[];
}

/**
 * The selected tasks and what orders them (README "Task graph"): pure, from the declared paths only. `order` is
 * topological, ties broken by the cube file's order, so any `--task` order gives the same run.
 */
export interface TaskGraph {
  order: string[];
  /** Each task's parents (the tasks it waits for), in `order`. */
  parents: Record<string, string[]>;
  edges: GraphEdge[];
}

/**
 * The graph of `names` (tasks of `cfg`): data edges (an input at, inside or around another selected task's output),
 * `depends_on` edges, and outputs written by two tasks (ordered as the cube file lists them; one directory shared as
 * a whole, such as a common log directory, orders nothing). A cycle is a located ConfigError (exit 2).
 */
export function taskGraph(cfg: Tree, names: readonly string[], ctx: PathContext, placeOf?: ConfigPlaceOf): TaskGraph {
  const declared = Object.keys(cfg.tasks as Tree);
  const selected = declared.filter((t) => names.includes(t));
  const paths = new Map(selected.map((t) => [t, declaredPaths(cfg, t, ctx)]));
  const edges = new Map<string, GraphEdge>();
  const add = (from: string, to: string, reason: EdgeReason) => {
    const key = `${from}\u0000${to}`;
    const edge = edges.get(key) ?? { from, to, reasons: [] };
    edge.reasons.push(reason);
    edges.set(key, edge);
  };
  for (const [i, parent] of selected.entries()) {
    for (const child of selected) {
      if (child === parent) continue;
      for (const out of paths.get(parent)!.filter((p) => p.io === 'output')) {
        for (const p of paths.get(child)!) {
          if (!overlap(out.path, p.path)) continue;
          if (p.io === 'input') add(parent, child, { kind: 'data', output: out.name, input: p.name, path: p.path });
          else if (selected.indexOf(child) > i && !sharedDirectory(out, p)) add(parent, child, { kind: 'same_output', output: out.name, other: p.name, path: p.path });
        }
      }
    }
  }
  for (const child of selected) {
    for (const parent of dependsOn(cfg, child, declared, placeOf)) if (selected.includes(parent)) add(parent, child, { kind: 'depends_on' });
  }
  const all = [...edges.values()];
  const parents: Record<string, string[]> = Object.fromEntries(selected.map((t) => [t, all.filter((e) => e.to === t).map((e) => e.from)]));
  const order = topological(selected, parents);
  if (order.length < selected.length) throw cycleError(findCycle(selected, parents), all, placeOf);
  for (const t of order) parents[t].sort((a, b) => order.indexOf(a) - order.indexOf(b));
  return { order, parents, edges: all };
}

/** Every task that waits, directly or not, for `task`. */
export function descendants(graph: TaskGraph, task: string): Set<string> {
  const found = new Set<string>();
  const visit = (t: string) => {
    for (const c of graph.order) {
      if (graph.parents[c].includes(t) && !found.has(c)) {
        found.add(c);
        visit(c);
      }
    }
  };
  visit(task);
  return found;
}

/** The tasks by depth (a task's depth is one more than its deepest parent's): what may run side by side. */
export function graphLevels(graph: TaskGraph): string[][] {
  const depth = new Map<string, number>();
  for (const t of graph.order) depth.set(t, Math.max(-1, ...graph.parents[t].map((p) => depth.get(p)!)) + 1);
  const levels: string[][] = [];
  for (const t of graph.order) (levels[depth.get(t)!] ??= []).push(t);
  return levels;
}

/** One line per edge reason, for `describe` and the dry run: `train <- download (data_dir: /ws/data)`. */
export function describeReason(r: EdgeReason): string {
  if (r.kind === 'depends_on') return 'depends_on';
  if (r.kind === 'data') return `reads ${r.input} = output ${r.output} (${r.path})`;
  return `writes ${r.other} where output ${r.output} is (${r.path}): cube file order`;
}

const overlap = (a: string, b: string) => within(a, b) || within(b, a);

const sharedDirectory = (a: DeclaredPath, b: DeclaredPath) => a.type === 'directory' && b.type === 'directory' && a.path === b.path;

function dependsOn(cfg: Tree, task: string, declared: readonly string[], placeOf: ConfigPlaceOf | undefined): string[] {
  const spec = (cfg.tasks as Tree)[task];
  const value = isTree(spec) ? spec.depends_on : undefined;
  if (value === undefined || value === null) return [];
  // The schema has said it is a list of strings; which names exist only the cube knows.
  const list = (Array.isArray(value) ? value : [value]).map(String);
  for (const [i, name] of list.entries()) {
    if (name === task || !declared.includes(name)) {
      throw new ConfigError(name === task ? `depends_on names the task itself ("${name}")` : `depends_on names "${name}", which is no task of the cube (it has: ${declared.join(', ')})`, {
        place: { ...placeOf?.(['tasks', task, 'depends_on', String(i)]), task },
        suggestions: [name === task ? 'Remove it from the list.' : `Name one of the cube's tasks, e.g. depends_on: [${declared.find((t) => t !== task) ?? 'other_task'}].`],
      });
    }
  }
  return list;
}

/** Kahn's algorithm, always taking the earliest-declared ready task: a stable order whatever --task said. */
function topological(tasks: readonly string[], parents: Record<string, string[]>): string[] {
  const done: string[] = [];
  for (;;) {
    const next = tasks.find((t) => !done.includes(t) && parents[t].every((p) => done.includes(p)));
    if (next === undefined) return done;
    done.push(next);
  }
}

/** A cycle among the tasks left over by the sort, as [t0, t1, ..., t0] where each waits for the one before it. */
function findCycle(tasks: readonly string[], parents: Record<string, string[]>): string[] {
  const path: string[] = [];
  const visit = (t: string): string[] | undefined => {
    const at = path.indexOf(t);
    if (at >= 0) return [...path.slice(at), t];
    path.push(t);
    for (const p of parents[t]) {
      const c = visit(p);
      if (c) return c;
    }
    path.pop();
    return undefined;
  };
  for (const t of tasks) {
    const c = visit(t);
    if (c) return c.reverse();
  }
  return [...tasks];
}

function cycleError(cycle: string[], edges: readonly GraphEdge[], placeOf: ConfigPlaceOf | undefined): ConfigError {
  const links = cycle.slice(1).map((to, i) => edges.find((e) => e.from === cycle[i] && e.to === to)!);
  const first = links[0];
  const reason = first.reasons[0];
  const path =
    reason.kind === 'data'
      ? ['tasks', first.to, 'parameters', 'inputs', reason.input]
      : reason.kind === 'depends_on'
        ? ['tasks', first.to, 'depends_on']
        : ['tasks', first.to, 'parameters', 'outputs', reason.other];
  const place: ErrorPlace = { ...placeOf?.(path), task: first.to, ...(reason.kind === 'data' ? { parameter: reason.input } : {}) };
  const said = links.map((e) => `"${e.to}" waits for "${e.from}" (${describeReason(e.reasons[0])})`).join('; ');
  return new ConfigError(`the tasks form a cycle ${cycle.map((t) => `"${t}"`).join(' -> ')}: ${said}`, {
    place,
    suggestions: ['Break the cycle: give one of these parameters another path, or remove a depends_on entry, or run the tasks in separate runs.'],
  });
}
