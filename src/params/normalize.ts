import { isTree, type Tree } from '../config/tree.js';

export type ParamType = 'file' | 'directory' | 'unknown';
export type IoType = 'input' | 'output';

/** Directory when the path ends with / or \ (mlcube#299: both separators, on every OS), else unknown. */
export function inferType(path: string): ParamType {
  return path.endsWith('/') || path.endsWith('\\') ? 'directory' : 'unknown';
}

/** One parameter spec in the Python MLCube's normalised form (`MLCubeConfig.check_parameters`). */
export function normalizeParam(name: string, spec: unknown): Tree {
  if (typeof spec === 'string') return { default: spec, type: inferType(spec) };
  if (spec === null || spec === undefined || (isTree(spec) && Object.keys(spec).length === 0)) {
    return { default: name, type: 'unknown' };
  }
  const out = structuredClone(spec as Tree);
  if (out.default === undefined || out.default === null) out.default = name;
  if (out.type === undefined || out.type === null || out.type === 'unknown') out.type = inferType(String(out.default));
  return out;
}

export interface NormalizeResult {
  tasks: Tree;
  /** Human-readable warnings (e.g. null entrypoint removed). */
  warnings: string[];
}

/** Normalises every task: null task/parameters/inputs/outputs become {}, null entrypoints are dropped. */
export function normalizeTasks(tasks: Tree, taskArgs: ReadonlyMap<string, string>): NormalizeResult {
  const warnings: string[] = [];
  const out: Tree = {};
  for (const [taskName, raw] of Object.entries(tasks)) {
    const task: Tree = isTree(raw) ? structuredClone(raw) : {};
    if ('entrypoint' in task && (task.entrypoint === null || task.entrypoint === undefined)) {
      delete task.entrypoint;
      warnings.push(`task "${taskName}": entrypoint is null, a default entrypoint will be used`);
    }
    const params: Tree = isTree(task.parameters) ? task.parameters : {};
    for (const io of ['inputs', 'outputs'] as const) {
      const group: Tree = isTree(params[io]) ? (params[io] as Tree) : {};
      for (const [p, spec] of Object.entries(group)) {
        const norm = normalizeParam(p, spec);
        const override = taskArgs.get(p);
        if (override !== undefined) {
          norm.default = override;
          if (norm.type === 'unknown') norm.type = inferType(override);
        }
        group[p] = norm;
      }
      params[io] = group;
    }
    task.parameters = params;
    out[taskName] = task;
  }
  return { tasks: out, warnings };
}

/** Every parameter name of the given tasks (for "override matches nothing" errors). */
export function parameterNames(tasks: Tree, only?: readonly string[]): string[] {
  const names = new Set<string>();
  for (const [t, task] of Object.entries(tasks)) {
    if (only && !only.includes(t)) continue;
    const params = isTree(task) && isTree(task.parameters) ? task.parameters : {};
    for (const io of ['inputs', 'outputs']) if (isTree(params[io])) for (const p of Object.keys(params[io] as Tree)) names.add(p);
  }
  return [...names];
}
