import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The installed package's root (holding package.json, schemas/, cubes/), whether running bundled or from dist/src. */
export const PACKAGE_ROOT = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'schemas'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`mlcube: cannot find the package root above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  return dir;
})();
