import { statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';

export interface CubeLocation {
  /** Absolute cube root (directory holding the cube file). */
  root: string;
  /** Absolute path of the cube file. */
  file: string;
}

/** --mlcube semantics of the Python MLCube: a file is the config itself, anything else is the root. */
export function locateCube(mlcube: string | undefined, cwd: string): CubeLocation {
  const target = resolve(cwd, mlcube ?? '.');
  const st = statSync(target, { throwIfNoEntry: false });
  if (st?.isFile()) return { root: dirname(target), file: target };
  const file = join(target, 'mlcube.yaml');
  if (!statSync(file, { throwIfNoEntry: false })?.isFile()) {
    throw new ConfigError(st ? `no mlcube.yaml in directory ${target}` : `path does not exist: ${target}`, {
      place: { file },
      suggestions: ['Pass --mlcube=<cube directory> or --mlcube=<path/to/mlcube.yaml>, or run from the cube directory.'],
    });
  }
  return { root: target, file };
}
