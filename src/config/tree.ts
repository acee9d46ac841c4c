/** Helpers over plain config trees (parsed YAML): type guards, deep clone, OmegaConf-style merge, path access. */
export type Tree = Record<string, unknown>;

export function isTree(v: unknown): v is Tree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function clone<T>(v: T): T {
  return structuredClone(v);
}

/** OmegaConf.merge semantics: maps merge key by key (new keys appended), anything else is replaced. */
export function merge(base: Tree, ...others: Tree[]): Tree {
  const out = clone(base);
  for (const other of others) mergeInto(out, other);
  return out;
}

function mergeInto(target: Tree, src: Tree): void {
  for (const [k, v] of Object.entries(src)) {
    const cur = target[k];
    if (isTree(cur) && isTree(v)) mergeInto(cur, v);
    else target[k] = clone(v);
  }
}

export function getPath(tree: unknown, path: readonly string[]): unknown {
  let cur: unknown = tree;
  for (const seg of path) {
    if (!isTree(cur) || !(seg in cur)) return undefined;
    cur = cur[seg];
  }
  return cur;
}

export function hasPath(tree: unknown, path: readonly string[]): boolean {
  let cur: unknown = tree;
  for (const seg of path) {
    if (!isTree(cur) || !Object.prototype.hasOwnProperty.call(cur, seg)) return false;
    cur = cur[seg];
  }
  return true;
}

/** Builds {a: {b: {c: value}}} from a dotted path. */
export function nest(path: readonly string[], value: unknown): Tree {
  let out: unknown = value;
  for (let i = path.length - 1; i >= 0; i--) out = { [path[i]]: out };
  return out as Tree;
}
