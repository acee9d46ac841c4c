import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isMap, isSeq, isNode, type Document, type Node } from 'yaml';
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

  /** Place of the deepest node along `path` that exists in this file (the key when `atKey`). */
  place(path: Path, atKey = false): ErrorPlace {
    if (!this.doc || !this.lines) return { file: this.file };
    let node: unknown = this.doc.contents;
    let keyNode: unknown;
    let best: Node | undefined = isNode(node) ? (node as Node) : undefined;
    for (const seg of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => (isNode(p.key) ? (p.key as any).value : p.key) === seg);
        if (!pair) break;
        keyNode = pair.key;
        node = pair.value;
        best = atKey && isNode(keyNode) ? (keyNode as Node) : isNode(node) ? (node as Node) : (keyNode as Node);
      } else if (isSeq(node) && typeof seg === 'number') {
        node = node.items[seg];
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
  const doc = parseDocument(text, { version: '1.1', lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const problem = doc.errors[0];
  if (problem) {
    const pos = lines.linePos(problem.pos[0]);
    const what = problem.message.split('\n')[0];
    throw new ConfigError(`malformed YAML: ${what}`, {
      place: { file, line: pos.line, col: pos.col },
      suggestions: ['Fix the YAML syntax at that position (indentation, a missing ":" or an unclosed quote or bracket).'],
    });
  }
  const value = doc.toJS({ maxAliasCount: 1000 }) ?? {};
  return new YamlSource(file, value, doc, lines);
}

export function readYamlFile(file: string): YamlSource {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e: any) {
    throw new ConfigError(`cannot read file (${e.code ?? e.message})`, {
      place: { file },
      suggestions: ['Check the path given with --mlcube (a cube directory holding mlcube.yaml, or the YAML file itself).'],
    });
  }
  return parseYaml(text, file);
}
