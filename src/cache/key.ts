import { canonicalSha256 } from '../provenance/canonical-json.js';
import type { RecordedParam } from '../provenance/record.js';
import { isTree, type Tree } from '../config/tree.js';

/**
 * What a task's outputs follow from (README "Task cache"): its code (the cube's files on the host, or the image's
 * digest), its configuration (with every parameter's path) and the runner's, the GPUs asked for, the secrets'
 * digests, and each input's digest.
 */
export interface KeyFacts {
  task: string;
  /** `tasks.<task>` of the effective configuration, secrets redacted. */
  taskConfig: unknown;
  /** The effective `runner` section (platform settings, flags), secrets redacted. */
  runnerConfig: unknown;
  runner: string;
  gpus: string;
  /** The cube's code tree digest (host runners); null in a container. */
  code: string | null;
  /** The image's digest (container runners); null on the host. */
  image: string | null;
  secrets: readonly { name: string; sha256: string }[];
  /** The record's parameters after the inputs were digested. */
  parameters: readonly RecordedParam[];
}

/** The cache key and the digest of each of its parts (kept in the record, so a later run can say which part changed). */
export interface CacheKey {
  key: string;
  parts: Record<string, string>;
}

/** Keys of a task's configuration that decide nothing about its outputs: changing them never reruns it. */
const NOT_OUTPUT_AFFECTING = ['gates', 'timeout', 'depends_on', 'cache'];

function taskPart(taskConfig: unknown): unknown {
  if (!isTree(taskConfig)) return taskConfig;
  const out: Tree = structuredClone(taskConfig);
  for (const k of NOT_OUTPUT_AFFECTING) delete out[k];
  // Output paths stay in: in a container they decide what the task sees (its mounts), so outputs made for other
  // paths are not taken for these.
  return out;
}

/** The cache key of a task run (pure): sha256 over the canonical JSON of its parts' digests. */
export function cacheKey(f: KeyFacts): CacheKey {
  const parts: Record<string, string> = {
    code: canonicalSha256(f.code),
    image: canonicalSha256(f.image),
    task: canonicalSha256({ name: f.task, config: taskPart(f.taskConfig) }),
    runner: canonicalSha256({ name: f.runner, config: f.runnerConfig }),
    gpus: canonicalSha256(f.gpus),
    secrets: canonicalSha256([...f.secrets].map((s) => [s.name, s.sha256]).sort()),
  };
  for (const p of f.parameters) {
    if (p.io !== 'input') continue;
    parts[`input:${p.name}`] = canonicalSha256({ found: p.found, digest: p.digest ? { algorithm: p.digest.algorithm, sha256: p.digest.sha256 } : null });
  }
  return { key: canonicalSha256({ algorithm: 'mlcube-cache-key-v1', parts }), parts };
}

/** The key facts of a task from the effective configuration (secrets redacted) and what was digested. */
export function taskKeyFacts(config: unknown, f: Omit<KeyFacts, 'taskConfig' | 'runnerConfig'>): KeyFacts {
  const cfg = isTree(config) ? config : {};
  return { ...f, taskConfig: isTree(cfg.tasks) ? cfg.tasks[f.task] : undefined, runnerConfig: cfg.runner };
}

const PART_NAMES: Record<string, string> = {
  code: "the cube's code",
  image: 'the image',
  task: "the task's configuration",
  runner: "the runner's configuration",
  gpus: 'the GPUs asked for',
  secrets: 'a secret',
};

/** What differs between two keys' parts, in words (e.g. `input train_config`, `the image`). */
export function changedParts(now: CacheKey, then: CacheKey): string[] {
  const names = [...new Set([...Object.keys(now.parts), ...Object.keys(then.parts)])];
  return names
    .filter((n) => now.parts[n] !== then.parts[n])
    .map((n) => {
      if (!n.startsWith('input:')) return PART_NAMES[n] ?? n;
      const input = n.slice('input:'.length);
      return !(n in then.parts) ? `input ${input} (new)` : !(n in now.parts) ? `input ${input} (gone)` : `input ${input}`;
    });
}
