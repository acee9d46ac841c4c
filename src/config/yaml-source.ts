import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isAlias, isMap, isScalar, isSeq, isNode, visit, type Document, type Node } from 'yaml';
import { YAML_11 } from './yaml-schema.js';
import { ConfigError, type ErrorPlace } from '../errors.js';

export type Path = readonly (string | number)[];

/** A parsed YAML file that can point back at the line:col of any value it holds. */
export class YamlSource {
  constructor(
    readonly file: string,
    readonly value: unknown,
    private readonly doc: Document | undefined,
    private readonly lines: LineCounter | undefined,
  ) {}

  /** Whether the file itself holds a value at `path` (not merely one of its parents). */
  holds(path: Path): boolean {
    let v: unknown = this.value;
    for (const seg of path) {
      if (v === null || typeof v !== 'object' || !Object.prototype.hasOwnProperty.call(v, seg)) return false;
      v = (v as Record<string | number, unknown>)[seg];
    }
    return true;
  }

  /** Place of the deepest node along `path` that exists in this file (the key when `atKey`). */
  place(path: Path, atKey = false): ErrorPlace {
    if (!this.doc || !this.lines) return { file: this.file };
    let node: unknown = this.doc.contents;
    let keyNode: unknown;
    let best: Node | undefined = isNode(node) ? (node as Node) : undefined;
    for (const seg of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === seg);
        if (!pair) break;
        keyNode = pair.key;
        node = pair.value;
        best = atKey && isNode(keyNode) ? (keyNode as Node) : isNode(node) ? (node as Node) : (keyNode as Node);
      } else if (isSeq(node) && (typeof seg === 'number' || /^(0|[1-9][0-9]*)$/.test(seg))) {
        // A schema's error path names list items by their index as a string.
        node = node.items[Number(seg)];
        if (isNode(node)) best = node as Node;
        else break;
      } else break;
    }
    const offset = best?.range?.[0];
    if (offset === undefined) return { file: this.file };
    const pos = this.lines.linePos(offset);
    return { file: this.file, line: pos.line, col: pos.col };
  }
}

/** Parses YAML the way PyYAML/OmegaConf read mlcube.yaml (YAML 1.1, duplicate keys rejected). */
export function parseYaml(text: string, file: string): YamlSource {
  const lines = new LineCounter();
  const doc = parseDocument(text, { ...YAML_11, lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const problem = doc.errors[0];
  if (problem) {
    const pos = lines.linePos(problem.pos[0]);
    const what = problem.message.split('\n')[0];
    throw new ConfigError(`malformed YAML: ${what}`, {
      place: { file, line: pos.line, col: pos.col },
      suggestions: ['Fix the YAML syntax at that position (indentation, a missing ":" or an unclosed quote or bracket).'],
    });
  }
  checkStructure(doc, lines, file);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {};
  } catch (e) {
    // yaml reports an alias bomb ("Excessive alias count") this way: the cube file is at fault, not the runtime.
    throw new ConfigError(`the YAML cannot be expanded: ${(e as Error).message}`, {
      place: { file, line: 1, col: 1 },
      suggestions: [`Use each anchor (&name) at most ${MAX_ALIAS_COUNT} times in all (aliases that repeat aliases multiply).`],
    });
  }
  return new YamlSource(file, value, doc, lines);
}

/** Aliases in all, expanded (yaml's bound against alias bombs). */
export const MAX_ALIAS_COUNT = 1000;
/** The largest cube or settings file read: real ones are a few KiB, and a huge one would take memory out of all proportion. */
export const MAX_YAML_BYTES = 1024 * 1024;

/**
 * What toJS cannot turn into a configuration, found with its place: an alias to nothing or to one of its own
 * ancestors (an infinite value), a key that is a mapping or a list, and a `__proto__` key (a plain object cannot
 * hold it: it would be dropped or change the object's prototype).
 */
function checkStructure(doc: Document, lines: LineCounter, file: string): void {
  const at = (n: { range?: [number, number, number] | null } | null | undefined) => {
    const pos = lines.linePos(n?.range?.[0] ?? 0);
    return { file, line: pos.line, col: pos.col };
  };
  let problem: ConfigError | undefined;
  visit(doc, {
    Alias(_key, node, path) {
      const target = node.resolve(doc);
      if (!target)
        problem = new ConfigError(`alias *${node.source} names no anchor defined before it`, {
          place: at(node),
          suggestions: [`Define &${node.source} on a value above this line, or write the value out.`],
        });
      else if (path.includes(target as never))
        problem = new ConfigError(`alias *${node.source} refers to a value that contains it (an infinite value)`, {
          place: at(node),
          suggestions: ['Point the alias at a value outside the one it sits in.'],
        });
      return problem ? visit.BREAK : undefined;
    },
    Pair(_key, pair) {
      const key = isAlias(pair.key) ? (pair.key.resolve(doc) ?? pair.key) : pair.key;
      const complex = isNode(key) && ((!isScalar(key) && !isAlias(key)) || (isScalar(key) && typeof key.value === 'object' && key.value !== null));
      if (complex) problem = new ConfigError('a mapping key is itself a mapping, a list or binary data', { place: at(pair.key as Node), suggestions: ['Use a plain word or string as the key.'] });
      else if ((isScalar(key) ? key.value : key) === '__proto__')
        problem = new ConfigError('the key "__proto__" is not allowed', { place: at(key as Node), suggestions: ['Rename the key: "__proto__" cannot be held by a configuration mapping.'] });
      return problem ? visit.BREAK : undefined;
    },
  });
  if (problem) throw problem;
}

export function readYamlFile(file: string): YamlSource {
  let text: string;
  try {
    const fd = openSync(file, 'r');
    try {
      const size = fstatSync(fd).size;
      if (size > MAX_YAML_BYTES) {
        throw new ConfigError(`the file is ${size} bytes; a cube or settings file may hold at most ${MAX_YAML_BYTES} bytes (1 MiB)`, {
          place: { file },
          suggestions: ['Keep data out of the YAML: point a parameter at a file in the workspace instead.'],
        });
      }
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  } catch (caught) {
    const e = caught as NodeJS.ErrnoException;
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(`cannot read file (${e.code ?? e.message})`, {
      place: { file },
      suggestions: ['Check the path given with --mlcube (a cube directory holding mlcube.yaml, or the YAML file itself).'],
    });
  }
  return parseYaml(text, file);
}
