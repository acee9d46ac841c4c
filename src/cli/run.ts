#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { execute } from '@oclif/core';

export { COMMANDS } from './commands/index.js';

// oclif imports the bundle (package.json oclif.commands) for its command table: run only as the program itself,
// or an entry point that is not the bundle would run every command twice.
const isMain = !!process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;

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
// `mlcube` alone prints usage and exits 0, as the Python CLI does. Not awaited: oclif imports this very module
// for its command table, which must finish evaluating first.
if (isMain) void execute({ dir: import.meta.url, args: argv.length ? argv : ['--help'] });
