import { isAbsolute, join, relative, sep } from 'node:path';
import type { ArtifactKind, PathBase, RecordedParam } from './record.js';
import { RECORDS_DIR } from '../params/isolation.js';

/**
 * How a record names a host path: relative to the workspace when it lies inside it (so a copied or moved
 * workspace is checked on its own files), absolute otherwise.
 */
export function recordedPath(hostPath: string, workspace: string): { path: string; base: PathBase } {
  const rel = relative(workspace, hostPath);
  if (rel === '') return { path: '.', base: 'workspace' };
  if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return { path: hostPath, base: 'absolute' };
  return { path: rel.split(sep).join('/'), base: 'workspace' };
}

/** The host path a recorded parameter names, for the workspace the record was found in. */
export function hostPathOf(p: Pick<RecordedParam, 'path' | 'base'>, workspace: string): string {
  return p.base === 'absolute' ? p.path : p.path === '.' ? workspace : join(workspace, ...p.path.split('/'));
}

/** A recorded relative path may not climb out of its base (`..`) or be absolute: a record naming one is forged. */
export function isSafeRelative(path: string): boolean {
  return path === '.' || (!isAbsolute(path) && !path.split('/').some((s) => s === '' || s === '.' || s === '..') && !path.includes('\\'));
}

/**
 * Digest options for a parameter's path: a directory holding the workspace's own `.mlcube` (e.g. an output that is
 * the workspace itself) is digested without it, or every record written would change the digest.
 */
export function paramDigestOptions(hostPath: string, workspace: string): { exclude?: (rel: string) => boolean } {
  const rel = relative(hostPath, join(workspace, RECORDS_DIR));
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return {};
  const skip = rel.split(sep).join('/');
  return { exclude: (r) => r === skip };
}

const KIND_RULES: Array<[RegExp, ArtifactKind]> = [
  [/model|checkpoint|ckpt|weights/i, 'model'],
  [/metric|report|score|eval|result|log/i, 'metrics'],
  [/config|param|setting|hparam|yaml/i, 'config'],
  [/code|script|src/i, 'code'],
];

/** Artifact kind of a parameter from its name (README "Lineage"); dataset when nothing else matches. */
export function artifactKind(name: string): ArtifactKind {
  return KIND_RULES.find(([re]) => re.test(name))?.[1] ?? 'dataset';
}
