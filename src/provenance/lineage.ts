import type { LineageLink, RecordedParam, RunRecord } from './record.js';

export interface Producer {
  run_id: string;
  task: string;
  output: string;
  file?: string;
}

/** What one successful run produced, keyed by digest: whole outputs (`f:`/`d:`) and files inside output directories. */
export function producedBy(r: RunRecord): Array<[string, Producer]> {
  const out: Array<[string, Producer]> = [];
  if (r.status !== 'succeeded') return out;
  for (const p of r.parameters) {
    if (p.io !== 'output' || !p.digest) continue;
    for (const e of p.digest.entries ?? []) if (e.type === 'file') out.push([`f:${e.sha256}`, { run_id: r.run_id, task: r.task, output: p.name, file: e.path }]);
    out.push([`${p.type === 'file' ? 'f' : 'd'}:${p.digest.sha256}`, { run_id: r.run_id, task: r.task, output: p.name }]);
  }
  return out;
}

/** The digest key under which an input's producer is indexed (none for an input without a digest). */
export function inputKey(p: RecordedParam): string | undefined {
  return p.io === 'input' && p.digest?.sha256 ? `${p.type === 'file' ? 'f' : 'd'}:${p.digest.sha256}` : undefined;
}

/** Links from this run's inputs to the earlier runs that produced exactly those bytes (never by path). */
export function linkInputs(inputs: readonly RecordedParam[], index: ReadonlyMap<string, Producer>): LineageLink[] {
  const links: LineageLink[] = [];
  for (const p of inputs) {
    const key = inputKey(p);
    const hit = key === undefined ? undefined : index.get(key);
    if (hit) links.push({ input: p.name, ...hit, sha256: p.digest!.sha256! });
  }
  return links;
}

export interface LineageGraph {
  nodes: { run_id: string; task: string; status: string; started_at: string }[];
  edges: { from: string; to: string; input: string; output: string; file?: string }[];
}

/** The graph around `roots` (all runs when none), following consumed-from links up to `maxDepth` hops back. */
export function lineageGraph(runs: readonly RunRecord[], roots: readonly string[], maxDepth = Infinity): LineageGraph {
  const byId = new Map(runs.map((r) => [r.run_id, r]));
  const seen = new Map<string, number>();
  const queue: [string, number][] = (roots.length ? roots : runs.map((r) => r.run_id)).map((id) => [id, 0]);
  while (queue.length) {
    const [id, d] = queue.shift()!;
    if (!byId.has(id) || (seen.has(id) && seen.get(id)! <= d)) continue;
    seen.set(id, d);
    if (d < maxDepth) for (const l of byId.get(id)!.lineage) queue.push([l.run_id, d + 1]);
  }
  const nodes = [...seen.keys()].sort().map((id) => {
    const r = byId.get(id)!;
    return { run_id: id, task: r.task, status: r.status, started_at: r.started_at };
  });
  const edges = nodes.flatMap((n) =>
    byId.get(n.run_id)!.lineage.filter((l) => seen.has(l.run_id)).map((l) => ({ from: l.run_id, to: n.run_id, input: l.input, output: l.output, ...(l.file ? { file: l.file } : {}) })),
  );
  return { nodes, edges };
}

/** Graphviz DOT of a lineage graph: one box per run, one edge per consumed output. */
export function toDot(g: LineageGraph): string {
  const q = (s: string) => JSON.stringify(s);
  const lines = ['digraph mlcube_lineage {', '  rankdir=LR;', '  node [shape=box];'];
  for (const n of g.nodes) lines.push(`  ${q(n.run_id)} [label=${q(`${n.task}\n${n.run_id}\n${n.status}`)}];`);
  for (const e of g.edges) lines.push(`  ${q(e.from)} -> ${q(e.to)} [label=${q(`${e.output}${e.file ? `/${e.file}` : ''} → ${e.input}`)}];`);
  lines.push('}');
  return lines.join('\n') + '\n';
}
