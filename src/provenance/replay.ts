import { isTree, type Tree } from '../config/tree.js';

/** How records show a secret value (src/config/secrets.ts). */
const REDACTED = '<redacted';

/** Top-level keys that say where a run was, not what it did: never replayed. */
const WHERE = new Set(['runtime', 'workspace']);

export interface Replay {
  /** -P overrides that make the rebuilt configuration equal the recorded one (`KEY=<JSON value>`). */
  overrides: string[];
  /** Differences no -P override can make (a key the rebuilt configuration has and the record has not, a dotted key). */
  unreplayable: { key: string; recorded: unknown; now: unknown }[];
}

/**
 * What turns the configuration as it builds now (`now`, redacted as records are) into the one a run recorded (pure):
 * for every leaf that differs, a -P override (`runner.` keys through the runner's section, e.g. `docker.`), the
 * value written as JSON (valid YAML). The recorded task's section and everything but the other tasks are compared.
 */
export function replayOverrides(recorded: Tree, now: Tree, o: { task: string; section: string; given?: readonly string[] }): Replay {
  const overrides: string[] = [];
  const unreplayable: Replay['unreplayable'] = [];
  const keyOf = (path: string[]) => (path[0] === 'runner' ? [o.section, ...path.slice(1)] : path).join('.');
  const walk = (path: string[], rec: unknown, cur: unknown) => {
    if (path.length === 1 && WHERE.has(path[0])) return;
    if (path.length === 2 && path[0] === 'tasks' && path[1] !== o.task) return;
    if (isTree(rec) && isTree(cur)) {
      for (const k of new Set([...Object.keys(rec), ...Object.keys(cur)])) walk([...path, k], rec[k], cur[k]);
      return;
    }
    if (JSON.stringify(rec) === JSON.stringify(cur)) return;
    // What the rerun's own overrides set (or a key below one) is theirs to say.
    if (o.given?.some((g) => keyOf(path) === g || keyOf(path).startsWith(`${g}.`))) return;
    // A redacted secret is known by its digest only: it cannot be replayed, only given again.
    if (rec === undefined || (typeof rec === 'string' && rec.startsWith(REDACTED)) || path.some((k) => k.includes('.') || k.includes('='))) {
      unreplayable.push({ key: path.join('.'), recorded: rec ?? null, now: cur ?? null });
      return;
    }
    overrides.push(`${keyOf(path)}=${JSON.stringify(rec)}`);
  };
  walk([], recorded, now);
  return { overrides, unreplayable };
}
