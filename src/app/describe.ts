import { buildConfig } from '../config/build.js';
import { RUNNERS } from '../../runners/index.js';
import { isTree, type Tree } from '../config/tree.js';
import { settingsPath } from '../config/settings.js';
import type { AppEnv } from './context.js';
import { describeReason, graphLevels, taskGraph, type EdgeReason, type TaskGraph } from '../plan/graph.js';

export interface CubeDescription {
  path: string;
  file: string;
  name: string;
  version: string;
  workspace: string;
  settings: string;
  tasks: { name: string; entrypoint?: string; inputs: string[]; outputs: string[] }[];
  /** Every task's graph (README "Task graph"): what `mlcube run` with no --task runs, in this order. */
  graph: GraphDescription;
}

/** A task graph as `describe --json` and `run --dry-run --json` print it. */
export interface GraphDescription {
  order: string[];
  /** Tasks by depth: those of one level may run side by side. */
  levels: string[][];
  edges: { from: string; to: string; reasons: EdgeReason[] }[];
}

export const graphDescription = (g: TaskGraph): GraphDescription => ({ order: g.order, levels: graphLevels(g), edges: g.edges.map((e) => ({ from: e.from, to: e.to, reasons: e.reasons })) });

/** `describe`: a summary of the cube without any platform (Python prints `runner: {}` there). */
export function describeCube(opts: { mlcube?: string; workspace?: string }, app: AppEnv): CubeDescription {
  const built = buildConfig({ mlcube: opts.mlcube, workspace: opts.workspace, cwd: app.cwd, env: app.env, home: app.home, platform: null, resolve: true }, RUNNERS);
  const cfg = built.config;
  const tasks = Object.entries(cfg.tasks as Tree).map(([name, t]) => {
    const task = t as Tree;
    const params = task.parameters as Tree;
    return {
      name,
      ...(typeof task.entrypoint === 'string' ? { entrypoint: task.entrypoint } : {}),
      inputs: Object.keys(isTree(params.inputs) ? params.inputs : {}),
      outputs: Object.keys(isTree(params.outputs) ? params.outputs : {}),
    };
  });
  return {
    path: built.location.root,
    file: built.location.file,
    name: String(cfg.name ?? ''),
    version: cfg.version === undefined || cfg.version === null ? 'latest' : String(cfg.version),
    workspace: String((cfg.runtime as Tree).workspace),
    settings: settingsPath(app.env, app.home),
    tasks,
    graph: graphDescription(taskGraph(cfg, Object.keys(cfg.tasks as Tree), { workspace: String((cfg.runtime as Tree).workspace), env: app.env, home: app.home }, built.placeOf)),
  };
}

const pyList = (xs: string[]) => `[${xs.map((x) => `'${x}'`).join(', ')}]`;

/** The Python MLCube's `describe` text (reference §3.2). */
export function renderDescription(d: CubeDescription): string {
  const lines = ['MLCube', `  path = ${d.path}`, `  name = ${d.name}:${d.version}`, '', `  workspace = ${d.workspace}`, `  system settings = ${d.settings}`, '', '  Tasks:'];
  for (const t of d.tasks) {
    const parts = [`name = ${t.name}`];
    if (t.inputs.length) parts.push(`inputs = ${pyList(t.inputs)}`);
    if (t.outputs.length) parts.push(`outputs = ${pyList(t.outputs)}`);
    lines.push(`    ${parts.join(', ')}`);
  }
  lines.push('', 'Run this MLCube:', '  Configure MLCube:', `    mlcube configure --mlcube=${d.path} --platform=docker`, '  Run MLCube tasks:');
  for (const t of d.tasks) lines.push(`    mlcube run --mlcube=${d.path} --task=${t.name} --platform=docker`);
  return lines.join('\n') + '\n';
}

/**
 * The task graph as text (`describe --graph`, `run --dry-run`): the tasks in the order they start, each with what it
 * waits for and why; a blank-free block indented by `indent`.
 */
export function renderGraph(g: GraphDescription, indent = '  '): string[] {
  const lines = [`${indent}Task graph (${g.order.length} task${g.order.length === 1 ? '' : 's'}; tasks of one level may run side by side):`];
  for (const [i, level] of g.levels.entries()) {
    lines.push(`${indent}  level ${i + 1}: ${level.join(', ')}`);
    for (const t of level) {
      for (const e of g.edges.filter((x) => x.to === t)) lines.push(`${indent}    ${t} <- ${e.from}: ${e.reasons.map(describeReason).join('; ')}`);
    }
  }
  return lines;
}
