import { ConfigError, type ErrorPlace } from '../errors.js';
import { isTree, type Tree } from './tree.js';

/** Where a config value came from, for error messages (file:line:col of the node holding it). */
export type PlaceOf = (path: readonly string[]) => ErrorPlace | undefined;

export interface InterpolationEnv {
  env: Record<string, string | undefined>;
  placeOf?: PlaceOf;
}

const OPEN = '${';

/** True when the string holds an unescaped `${...}`. */
export function hasInterpolation(s: string): boolean {
  for (let i = s.indexOf(OPEN); i >= 0; i = s.indexOf(OPEN, i + 1)) if (s[i - 1] !== '\\') return true;
  return false;
}

/**
 * Resolves OmegaConf-style interpolations over the whole tree, in place semantics but returning a new tree:
 * `${a.b}` (absolute key), `${.sibling}` (relative), `${oc.env:VAR}`, `${oc.env:VAR,default}`, nesting
 * (`${oc.env:X,${name}}`), `\${` escapes. A string that is exactly one interpolation takes the referenced
 * value's type. Cycles and missing keys are ConfigErrors naming the node that holds the reference.
 */
export function resolveTree(root: Tree, opts: InterpolationEnv): Tree {
  const resolver = new Resolver(root, opts);
  return resolver.resolveNode(root, []) as Tree;
}

class Resolver {
  private readonly done = new Map<string, unknown>();
  private readonly active: string[] = [];

  constructor(
    private readonly root: Tree,
    private readonly opts: InterpolationEnv,
  ) {}

  resolveNode(node: unknown, path: string[]): unknown {
    if (typeof node === 'string') return this.resolveString(node, path);
    if (Array.isArray(node)) return node.map((v, i) => this.resolveNode(v, [...path, String(i)]));
    if (isTree(node)) {
      const out: Tree = {};
      for (const [k, v] of Object.entries(node)) out[k] = this.resolveNode(v, [...path, k]);
      return out;
    }
    return node;
  }

  private resolveString(s: string, path: string[]): unknown {
    const key = path.join('.');
    if (this.done.has(key)) return this.done.get(key);
    if (!s.includes(OPEN)) return s;
    if (this.active.includes(key)) {
      const chain = [...this.active.slice(this.active.indexOf(key)), key].join(' -> ');
      throw this.error(path, `interpolation cycle: ${chain}`, 'Break the cycle: one of these keys must hold a plain value.');
    }
    this.active.push(key);
    try {
      const value = this.evaluate(s, path);
      this.done.set(key, value);
      return value;
    } finally {
      this.active.pop();
    }
  }

  /** Evaluates a string with interpolations; exactly-one-interpolation strings keep the value's type. */
  private evaluate(s: string, path: string[]): unknown {
    const parts: unknown[] = [];
    let i = 0;
    let literal = '';
    while (i < s.length) {
      if (s.startsWith('\\${', i)) {
        literal += OPEN;
        i += 3;
      } else if (s.startsWith(OPEN, i)) {
        const end = matchingBrace(s, i + 2);
        if (end < 0) throw this.error(path, `unterminated interpolation in "${s}"`, 'Close the "${" with "}".');
        if (literal) parts.push(literal);
        literal = '';
        parts.push({ value: this.evaluateInner(s.slice(i + 2, end), path, s) });
        i = end + 1;
      } else {
        literal += s[i++];
      }
    }
    if (literal) parts.push(literal);
    if (parts.length === 1 && typeof parts[0] === 'object') return (parts[0] as { value: unknown }).value;
    return parts.map((p) => (typeof p === 'string' ? p : stringify((p as { value: unknown }).value))).join('');
  }

  private evaluateInner(inner: string, path: string[], whole: string): unknown {
    const expr = inner.includes(OPEN) ? String(this.evaluate(inner, path)) : inner;
    const colon = expr.indexOf(':');
    if (colon > 0 && /^[A-Za-z_][\w.]*$/.test(expr.slice(0, colon))) {
      return this.callResolver(expr.slice(0, colon), expr.slice(colon + 1), path, whole);
    }
    return this.lookup(expr.trim(), path, whole);
  }

  private callResolver(name: string, args: string, path: string[], whole: string): unknown {
    if (name === 'oc.env') {
      const comma = args.indexOf(',');
      const variable = (comma < 0 ? args : args.slice(0, comma)).trim();
      const value = this.opts.env[variable];
      if (value !== undefined) return value;
      if (comma >= 0) return parseDefault(args.slice(comma + 1).trim());
      throw this.error(path, `environment variable "${variable}" is not set (in "${whole}")`, `Set ${variable}, or give a default: \${oc.env:${variable},some-default}.`);
    }
    if (name === 'oc.decode') return parseDefault(args.trim());
    throw this.error(path, `unknown resolver "${name}" in "${whole}"`, 'Supported resolvers: oc.env, oc.decode.');
  }

  private lookup(ref: string, path: string[], whole: string): unknown {
    let target: string[];
    if (ref.startsWith('.')) {
      const ups = ref.match(/^\.+/)![0].length;
      target = [...path.slice(0, path.length - ups), ...ref.slice(ups).split('.').filter(Boolean)];
    } else {
      target = ref.split('.');
    }
    let node: unknown = this.root;
    for (const seg of target) {
      if (isTree(node) && Object.prototype.hasOwnProperty.call(node, seg)) node = node[seg];
      else if (Array.isArray(node) && /^\d+$/.test(seg) && Number(seg) < node.length) node = node[Number(seg)];
      else {
        const hint = /^[A-Z_][A-Z0-9_]*$/.test(ref)
          ? `"${ref}" looks like an environment variable: write \${oc.env:${ref}} (OmegaConf does not read the environment for \${${ref}}).`
          : `Use a key that exists (e.g. \${name}, \${runtime.root}, \${runtime.workspace}, \${docker.image}) or \${oc.env:VAR}.`;
        throw this.error(path, `interpolation key "${ref}" not found (in "${whole}")`, hint);
      }
    }
    return this.resolveNode(node, target);
  }

  private error(path: string[], detail: string, fix: string): ConfigError {
    const place = this.opts.placeOf?.(path);
    return new ConfigError(`${detail} at key "${path.join('.')}"`, { place, suggestions: [fix] });
  }
}

function matchingBrace(s: string, from: number): number {
  let depth = 1;
  for (let i = from; i < s.length; i++) {
    if (s.startsWith(OPEN, i)) {
      depth++;
      i++;
    } else if (s[i] === '}') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

function parseDefault(raw: string): unknown {
  if (/^'.*'$|^".*"$/.test(raw)) return raw.slice(1, -1);
  if (raw === 'null') return null;
  if (/^-?\d+$/.test(raw)) return Number(raw);
  if (raw === 'true' || raw === 'false') return raw === 'true';
  return raw;
}

/** How an interpolation renders a non-string value inside a larger string (Python str()). */
export function stringify(v: unknown): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
