import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PACKAGE_ROOT } from '../package-root.js';
import { UsageError } from '../errors.js';

/** cubes/template at the package root: the built-in, offline template. */
export const TEMPLATE_DIR = join(PACKAGE_ROOT, 'cubes', 'template');
const PLACEHOLDER = /__CUBE_NAME__/g;
const TEXT_FILES = ['mlcube.yaml', 'main.mjs', 'Dockerfile'];

/** `create`: copies the template into a new directory with the cube's name filled in; never overwrites. */
export function createCube(opts: { name: string; dir?: string }, cwd: string): string {
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(opts.name)) {
    throw new UsageError(`cube name "${opts.name}" is not usable as a docker image name`, { suggestions: ['Use lower-case letters, digits, ".", "_" or "-", e.g. --name=my-cube.'] });
  }
  const target = resolve(cwd, opts.dir ?? opts.name);
  if (existsSync(target) && readdirSync(target).length > 0) {
    throw new UsageError(`${target} exists and is not empty`, { suggestions: ['Choose another --dir, or remove the directory first.'] });
  }
  // Build next to the target, then rename: a failure leaves no half-made cube.
  const staging = `${target}.creating-${process.pid}`;
  try {
    cpSync(TEMPLATE_DIR, staging, { recursive: true });
    for (const f of TEXT_FILES) writeFileSync(join(staging, f), readFileSync(join(staging, f), 'utf8').replace(PLACEHOLDER, opts.name));
    if (existsSync(target)) rmSync(target, { recursive: true });
    renameSync(staging, target);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return target;
}
