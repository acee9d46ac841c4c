import type { Command } from '@oclif/core/command';
import { isMlcubeError } from '../errors.js';
import { createLogger, isLevel } from '../log.js';
import { realAppEnv } from '../app/context.js';
import { parseRunArgv, type RunCommandLine } from './run-argv.js';
import { writeMlcubeError } from './error-report.js';

/**
 * The command table, read by oclif from this bundle ("explicit" strategy). Loaded with oclif (loadCommands): the
 * command classes import oclif, which `mlcube run` does without.
 */
export let COMMANDS: Record<string, Command.Class> | undefined;

export async function loadCommands(): Promise<Record<string, Command.Class>> {
  COMMANDS ??= (await import('./commands/index.js')).COMMANDS;
  return COMMANDS;
}

/**
 * The CLI proper, bundled into dist/cli.cjs and started by the launcher (dist/mlcube.cjs, src/cli/launcher.ts).
 * `entryUrl` is the launcher's URL: oclif finds package.json above it.
 */
export async function main(entryUrl: string, args: string[]): Promise<void> {
  // Python MLCube takes --log-level before the sub-command; accept it anywhere and hand it over by env.
  const argv = [...args];
  for (let i = 0; i < argv.length; i++) {
    const m = /^--log[-_]level(?:=(.*))?$/.exec(argv[i]);
    if (!m) continue;
    process.env.MLCUBE_LOG_LEVEL = m[1] ?? argv[i + 1];
    argv.splice(i, m[1] === undefined ? 2 : 1);
    i--;
  }
  since('CLI loaded');
  // The most used command, in its plain forms, without loading oclif (see parseRunArgv); the rest through oclif.
  const run = argv[0] === 'run' ? parseRunArgv(argv.slice(1)) : undefined;
  if (run) return runWithoutOclif(run);
  await runWithOclif(entryUrl, argv);
  since('command done');
}

async function runWithOclif(entryUrl: string, argv: string[]): Promise<void> {
  const [{ Config }, { execute }, { handle }] = await Promise.all([import('@oclif/core/config'), import('@oclif/core/execute'), import('@oclif/core/handle'), loadCommands()]);
  let config;
  try {
    config = await withCodeUnitCollation(() => Config.load(entryUrl));
  } catch (e) {
    return handle(e as Error);
  }
  since('oclif configured');
  // `mlcube` alone prints usage and exits 0, as the Python CLI does.
  await execute({ loadOptions: config, args: argv.length ? argv : ['--help'] });
}

/** `mlcube run` as the oclif command runs it (src/cli/commands/run.ts, BaseCommand), errors reported alike. */
async function runWithoutOclif(commandLine: RunCommandLine): Promise<void> {
  const { executeRun } = await import('./run-execute.js');
  const level = process.env.MLCUBE_LOG_LEVEL;
  try {
    await executeRun(commandLine, realAppEnv(createLogger(isLevel(level) ? level : 'info')), (text) => process.stdout.write(text.endsWith('\n') ? text : text + '\n'));
    since('command done');
  } catch (e) {
    if (isMlcubeError(e)) {
      writeMlcubeError(e);
      process.exitCode = e.exitCode;
      return;
    }
    if (level === 'debug') process.stderr.write(`${(e as Error).stack}\n`);
    const { handle } = await import('@oclif/core/handle');
    await handle(e as Error);
  }
}

/**
 * oclif sorts its command table with String#localeCompare, whose first call initialises ICU collation: ~10 ms,
 * a tenth of the start-up budget of `mlcube run`. Our command ids are ASCII and sort the same by code unit (a
 * unit test checks), so compare by code unit while oclif loads, and only then.
 */
export async function withCodeUnitCollation<T>(work: () => Promise<T>): Promise<T> {
  const localeCompare = Object.getOwnPropertyDescriptor(String.prototype, 'localeCompare')!;
  Object.defineProperty(String.prototype, 'localeCompare', {
    ...localeCompare,
    value(this: string, that: string) {
      return this < that ? -1 : this > that ? 1 : 0;
    },
  });
  try {
    return await work();
  } finally {
    Object.defineProperty(String.prototype, 'localeCompare', localeCompare);
  }
}

/** With --log-level=debug: where the start-up time goes (ms since the process started). */
function since(what: string): void {
  if (process.env.MLCUBE_LOG_LEVEL === 'debug') process.stderr.write(`mlcube debug: ${what} at ${performance.now().toFixed(0)} ms\n`);
}
