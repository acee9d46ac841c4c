import { nodeCrypto } from '../provenance/crypto.js';
import { splitCommand } from '../params/split-command.js';
import { resolveTree, stringify } from './interpolate.js';
import { isTree, type Tree } from './tree.js';

/** Where a secret value came from: an env_args entry, a `-e K=V`-style option in an argument string, `${oc.env:VAR}`. */
export type SecretSource = 'env_args' | 'run_args' | 'oc.env';

/** A secret value left out of a run record: its name, where it was, and its digest (to compare runs without the value). */
export interface SecretRef {
  /** The env var (env_args key, `-e` name or `oc.env` variable); for a value whose origin could not be told apart, its config path. */
  name: string;
  source: SecretSource;
  /** Dotted config path of the value that held it. */
  path: string;
  /** Hex sha256 of the value's UTF-8 (as the task got it). */
  sha256: string;
}

export interface Redaction {
  /** A copy of the resolved config with every secret value replaced by `<redacted sha256:<16 hex>>`. */
  config: Tree;
  secrets: SecretRef[];
  /** Replaces the known secret values in free text (an error message quoting the config). */
  scrub(text: string): string;
}

interface Origin {
  name: string;
  source: SecretSource;
  /** The value as resolved (typed: an env_args number stays a number). */
  value: unknown;
}

/** Option strings holding environment assignments, by config key: the flags that take a K=V (docker -e; singularity --env; ch-run --set-env). */
const ARG_STRINGS: Record<string, { flags: readonly string[]; source: SecretSource; bare?: boolean }> = {
  cpu_args: { flags: ['-e', '--env'], source: 'run_args' },
  gpu_args: { flags: ['-e', '--env'], source: 'run_args' },
  // `-e` means --cleanenv to singularity: only the long forms assign here.
  run_args: { flags: ['--env', '--set-env'], source: 'run_args' },
  // The Python docker runner's rendered form, "-e K=V -e K2=V2" (runners/docker-spec.ts keyValues also takes bare K=V).
  env_args: { flags: ['-e', '--env'], source: 'env_args', bare: true },
};

/** Scrubbing free text skips shorter values: `1` or `on` are flags, not credentials, and would garble any message. */
const MIN_SCRUB_LENGTH = 4;

// Private-use code points: no YAML config holds them, and neither the resolver nor the shell-word splitter treats them specially.
const MARK_RE = /\uE000(\d+)\uE001/g;
const ONE_MARK_RE = /^\uE000(\d+)\uE001$/;
const ONLY_MARKS_RE = /^(?:\uE000\d+\uE001)+$/;

const sha256 = (s: string) => nodeCrypto().createHash('sha256').update(s, 'utf8').digest('hex');
/** The value as the task gets it: runners pass env_args with String(v). */
const asText = (v: unknown) => (typeof v === 'string' ? v : isTree(v) || Array.isArray(v) ? JSON.stringify(v) : String(v));
/** What a secret value reads as in the record. */
export const redactedMarker = (value: string) => `<redacted sha256:${sha256(value).slice(0, 16)}>`;

/**
 * The record's copy of a resolved config, without secret values: env_args values (map or "-e K=V" string, any
 * section), K=V options in cpu_args/gpu_args/run_args, and whatever `${oc.env:VAR}` produced (a default used
 * because VAR is unset is not a secret). Pure and deterministic.
 *
 * Origins are found by re-running the project's own resolver over `raw` (the merged tree before interpolation)
 * with each secret stood in for by a unique mark: env_args values are marked in the tree, each set variable reads
 * as a mark. The marks then travel exactly as the values did (through `${a.b}` references, nesting, embedding),
 * so no second copy of the interpolation rules is needed. A value the marks cannot follow (one used as a key in
 * `${a.${oc.env:X}}`, or decoded by oc.decode) is redacted whole.
 */
export function redactSecrets(raw: Tree, resolved: Tree, env: Readonly<Record<string, string | undefined>>): Redaction {
  const origins: Origin[] = [];
  const mark = (o: Origin) => `\uE000${origins.push(o) - 1}\uE001`;
  const textOf = (s: string) => s.replace(MARK_RE, (_, i) => asText(origins[Number(i)].value));
  /** The marked value as the real resolution produced it (embedded non-strings render like the resolver's). */
  const unmark = (s: string): unknown => {
    const one = ONE_MARK_RE.exec(s);
    if (one) return origins[Number(one[1])].value;
    return s.replace(MARK_RE, (_, i) => {
      const v = origins[Number(i)].value;
      return typeof v === 'string' ? v : stringify(v);
    });
  };

  const marked = structuredClone(raw);
  for (const [section, node] of Object.entries(marked)) {
    if (!isTree(node)) continue;
    const real = resolved[section];
    if (isTree(node.env_args)) {
      const values = isTree(real) && isTree(real.env_args) ? real.env_args : {};
      for (const k of Object.keys(node.env_args)) node.env_args[k] = mark({ name: k, source: 'env_args', value: values[k] });
    }
    // Literal option strings are marked before resolving, so references to them are followed; interpolated ones after.
    for (const [key, spec] of Object.entries(ARG_STRINGS)) {
      const s = node[key];
      if (typeof s === 'string' && !s.includes('${')) node[key] = markArgs(s, spec, mark, textOf, false);
    }
  }

  const envMarks = new Map<string, string>();
  const markedEnv = new Proxy({} as Record<string, string | undefined>, {
    get: (_t, v) => {
      if (typeof v !== 'string' || env[v] === undefined) return undefined;
      if (!envMarks.has(v)) envMarks.set(v, mark({ name: v, source: 'oc.env', value: env[v] }));
      return envMarks.get(v);
    },
  });
  let traced: unknown;
  try {
    traced = resolveTree(marked, { env: markedEnv });
  } catch {
    traced = undefined; // a mark used as a key: every interpolated value is redacted whole below
  }

  /** The traced node where it agrees with the real resolution; otherwise the real value, redacted whole if interpolated. */
  const reconcile = (real: unknown, t: unknown, rawNode: unknown, path: string[]): unknown => {
    if (Array.isArray(real)) return real.map((v, i) => reconcile(v, Array.isArray(t) ? t[i] : undefined, Array.isArray(rawNode) ? rawNode[i] : undefined, [...path, String(i)]));
    if (isTree(real)) {
      const out: Tree = {};
      for (const [k, v] of Object.entries(real)) out[k] = reconcile(v, isTree(t) ? t[k] : undefined, isTree(rawNode) ? rawNode[k] : undefined, [...path, k]);
      return out;
    }
    if (typeof t === 'string' ? Object.is(unmark(t), real) : t !== undefined && Object.is(t, real)) return t;
    if (path.length === 3 && path[1] === 'env_args' && isTree(getAt(raw, path.slice(0, 2)))) return mark({ name: path[2], source: 'env_args', value: real });
    if (typeof rawNode === 'string' && rawNode.includes('${')) {
      const vars = [...rawNode.matchAll(/\$\{oc\.env:\s*([^,}\s]+)/g)].map((m) => m[1]);
      return mark({ name: vars.length ? [...new Set(vars)].join(',') : path.join('.'), source: 'oc.env', value: real });
    }
    return real;
  };
  const config = reconcile(resolved, traced, raw, []) as Tree;

  for (const node of Object.values(config)) {
    if (!isTree(node)) continue;
    for (const [key, spec] of Object.entries(ARG_STRINGS)) {
      const s = node[key];
      if (typeof s === 'string') node[key] = markArgs(s, spec, mark, textOf, true);
    }
  }

  const refs = new Map<string, SecretRef>();
  const markers = new Map<string, string>();
  const finish = (node: unknown, path: string[]): unknown => {
    if (Array.isArray(node)) return node.map((v, i) => finish(v, [...path, String(i)]));
    if (isTree(node)) return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, finish(v, [...path, k])]));
    if (typeof node !== 'string' || !node.includes('\uE000')) return node;
    return node.replace(MARK_RE, (_, i) => {
      const o = origins[Number(i)];
      const text = asText(o.value);
      const ref: SecretRef = { name: o.name, source: o.source, path: path.join('.'), sha256: sha256(text) };
      refs.set(`${ref.path}\0${ref.source}\0${ref.name}\0${ref.sha256}`, ref);
      markers.set(text, redactedMarker(text));
      return markers.get(text)!;
    });
  };
  const out = finish(config, []) as Tree;
  const secrets = [...refs.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r);

  const scrubbed = [...markers.entries()].filter(([v]) => v.length >= MIN_SCRUB_LENGTH).sort(([a], [b]) => b.length - a.length);
  const scrub = (text: string) => scrubbed.reduce((t, [v, m]) => t.split(v).join(m), text);
  return { config: out, secrets, scrub };
}

function getAt(tree: unknown, path: readonly string[]): unknown {
  let cur = tree;
  for (const seg of path) cur = isTree(cur) ? cur[seg] : undefined;
  return cur;
}

/**
 * Marks the value of each K=V option in an argument string (e.g. `-e TOKEN=abc --ipc=host`), keeping the rest of
 * the text as written. Values that are already marks are left alone. Where a value is not found verbatim (quoting
 * split it) the string is rewritten from its words (`rewrite`), or, before resolving, left for the pass after it.
 */
function markArgs(s: string, spec: (typeof ARG_STRINGS)[string], mark: (o: Origin) => string, textOf: (s: string) => string, rewrite: boolean): string {
  let words: string[];
  try {
    words = splitCommand(s, 'option string');
  } catch {
    // The runner rejects it too (a shell operator); its K=V parts cannot be told apart, so none of it is kept.
    return rewrite ? mark({ name: '?', source: spec.source, value: textOf(s) }) : s;
  }
  let out = s;
  let from = 0;
  let verbatim = true;
  const shortFlag = spec.flags.find((f) => !f.startsWith('--'));
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    let assignment: string | undefined;
    let at = i;
    if (spec.flags.includes(w)) assignment = words[(at = ++i)];
    else if (spec.flags.some((f) => f.startsWith('--') && w.startsWith(`${f}=`))) assignment = w.slice(w.indexOf('=') + 1);
    else if (shortFlag && w.startsWith(shortFlag) && !w.startsWith('--') && w.length > shortFlag.length) assignment = w.slice(shortFlag.length);
    else if (spec.bare && !w.startsWith('-') && w.includes('=')) assignment = w;
    const eq = assignment?.indexOf('=') ?? -1;
    if (assignment === undefined || eq <= 0) continue; // `-e NAME` passes the host's value: nothing in the config
    const [name, value] = [assignment.slice(0, eq), assignment.slice(eq + 1)];
    if (value === '' || ONLY_MARKS_RE.test(value)) continue;
    const m = mark({ name, source: spec.source, value: textOf(value) });
    words[at] = words[at].slice(0, words[at].length - value.length) + m;
    const pos = out.indexOf(`${name}=${value}`, from);
    if (pos < 0) {
      verbatim = false;
      continue;
    }
    const start = pos + name.length + 1;
    out = out.slice(0, start) + m + out.slice(start + value.length);
    from = start + m.length;
  }
  if (verbatim || !rewrite) return out;
  // A word holding a mark is quoted: the marker it becomes has spaces.
  return words.map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');
}
