import { loadSchema, type JsonSchema, type SchemaName } from './schemas.js';
import { isTree } from './tree.js';

/**
 * Does a dotted override path name something? Each segment must exist in the tree, or be a property the
 * schema declares at that place (so `-Pdocker.image=x` works on a cube without `docker:`, while
 * `-Ptasks.t.parameters.input.p.opts=ro` — medperf#489's typo — does not). `subSchemas` swaps in the schema
 * of a section whose shape depends on the platform (e.g. `runner`). An open map (an object the schema gives
 * neither properties nor additionalProperties, e.g. `docker.env_args`, `docker.build_args`) takes a new key, as
 * the Python MLCube adds it; one level only (`env_args.A.B` names nothing).
 */
export function pathIsKnown(tree: unknown, schema: JsonSchema, path: readonly string[], subSchemas: Record<string, JsonSchema> = {}): boolean {
  let node: unknown = tree;
  let sch: JsonSchema | undefined = schema;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    if (i === 0 && subSchemas[seg]) {
      sch = subSchemas[seg];
      node = isTree(node) ? node[seg] : undefined;
      continue;
    }
    const objectSchema: JsonSchema | undefined = sch ? objectBranch(sch) : undefined;
    const inTree = isTree(node) && Object.prototype.hasOwnProperty.call(node, seg);
    const declared: JsonSchema | undefined = objectSchema?.properties?.[seg];
    if (!inTree && !declared) {
      if (!isOpenMap(objectSchema)) return false;
      node = undefined;
      sch = undefined;
      continue;
    }
    node = inTree ? (node as Record<string, unknown>)[seg] : undefined;
    sch = declared ?? (isTree(objectSchema?.additionalProperties) ? (objectSchema!.additionalProperties as JsonSchema) : undefined);
    sch = sch ? deref(sch) : undefined;
  }
  return true;
}

/** Keys that exist or are declared where `path` stops matching (for "did you mean" lists). */
export function keysNear(tree: unknown, schema: JsonSchema, path: readonly string[], subSchemas: Record<string, JsonSchema> = {}): string[] {
  let node: unknown = tree;
  let sch: JsonSchema | undefined = schema;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    const objectSchema: JsonSchema | undefined = i === 0 && subSchemas[seg] ? undefined : sch ? objectBranch(sch) : undefined;
    const inTree = isTree(node) && Object.prototype.hasOwnProperty.call(node, seg);
    const declared: JsonSchema | undefined = i === 0 && subSchemas[seg] ? subSchemas[seg] : objectSchema?.properties?.[seg];
    if (!inTree && !declared) break;
    node = inTree ? (node as Record<string, unknown>)[seg] : undefined;
    sch = declared ? deref(declared) : isTree(objectSchema?.additionalProperties) ? deref(objectSchema!.additionalProperties as JsonSchema) : undefined;
  }
  const declaredKeys = Object.keys((sch && objectBranch(sch)?.properties) ?? {});
  return [...new Set([...(isTree(node) ? Object.keys(node) : []), ...declaredKeys])];
}

function isOpenMap(s: JsonSchema | undefined): boolean {
  return s !== undefined && !s.properties && s.additionalProperties === undefined && !s.anyOf && !s.oneOf && ([] as unknown[]).concat(s.type ?? []).includes('object');
}

function deref(s: JsonSchema): JsonSchema {
  let cur = s;
  for (let guard = 0; cur.$ref && guard < 10; guard++) {
    const ref: string = cur.$ref;
    if (ref.startsWith('#/$defs/')) cur = loadSchema('mlcube.schema.json').$defs[ref.slice(8)];
    else cur = loadSchema(ref as SchemaName);
  }
  return cur;
}

function objectBranch(s: JsonSchema): JsonSchema | undefined {
  const d = deref(s);
  if (d.properties || d.additionalProperties) return d;
  for (const alt of d.anyOf ?? []) {
    const b = deref(alt);
    if (b.properties) return b;
  }
  return d;
}
