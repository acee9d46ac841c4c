#!/usr/bin/env node
import { execute } from '@oclif/core';

// Python MLCube takes --log-level before the sub-command; accept it anywhere and hand it over by env.
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const m = /^--log[-_]level(?:=(.*))?$/.exec(argv[i]);
  if (!m) continue;
  const value = m[1] ?? argv[i + 1];
  process.env.MLCUBE_LOG_LEVEL = value;
  argv.splice(i, m[1] === undefined ? 2 : 1);
  i--;
}
export { COMMANDS } from './commands/index.js';

// `mlcube` alone prints usage and exits 0, as the Python CLI does. Not awaited: oclif imports this very module
// for its command table (package.json oclif.commands), which must finish evaluating first.
void execute({ dir: import.meta.url, args: argv.length ? argv : ['--help'] });
