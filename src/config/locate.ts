import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { realFs, type FsProbe } from '../params/fs-probe.js';

export interface CubeLocation {
  /** Absolute cube root (directory holding the cube file). */
  root: string;
  /** Absolute path of the cube file. */
  file: string;
}

/**
 * --mlcube semantics of the Python MLCube: a file is the config itself, anything else is the root (default: the
 * current directory). `alsoSuggest` adds a fix the command offers besides --mlcube (e.g. --workspace).
 */
export function locateCube(mlcube: string | undefined, cwd: string, probe: Pick<FsProbe, 'kind'> = realFs, alsoSuggest?: string): CubeLocation {
  const target = resolve(cwd, mlcube ?? '.');
  const kind = probe.kind(target);
  if (kind === 'file') return { root: dirname(target), file: target };
  const file = join(target, 'mlcube.yaml');
  if (kind === 'directory' && probe.kind(file) === 'file') return { root: target, file };
  const given = mlcube === undefined ? 'the current directory; no --mlcube given' : `--mlcube=${mlcube}`;
  const detail =
    kind === 'missing' ? `${target} does not exist (${given})` : kind === 'directory' ? `no mlcube.yaml in ${target} (${given})` : `${target} is no cube directory or file: ${kind} (${given})`;
  throw new ConfigError(detail, {
    suggestions: [`Pass --mlcube=<cube directory> or --mlcube=<path/to/mlcube.yaml>, or run from the cube directory${alsoSuggest ? `; ${alsoSuggest}` : ''}.`],
  });
}
