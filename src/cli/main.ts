import { Config } from '@oclif/core/config';
import { execute } from '@oclif/core/execute';
import { handle } from '@oclif/core/handle';
import { takeLogLevel } from './run-argv.js';
import { since } from './since.js';

export { COMMANDS } from './commands/index.js';

/**
 * The CLI through oclif, bundled into dist/cli.cjs and started by the launcher (dist/mlcube.cjs,
 * src/cli/launcher.ts) for every command line but the plain `run`s (dist/run.cjs, src/cli/run-main.ts).
 * `entryUrl` is the launcher's URL: oclif finds package.json above it.
 */
export async function main(entryUrl: string, args: string[]): Promise<void> {
  const argv = takeLogLevel(args);
  since('CLI loaded');
  let config: Config;
  try {
    config = await withCodeUnitCollation(() => Config.load(entryUrl));
  } catch (e) {
    return handle(e as Error);
  }
  since('oclif configured');
  // `mlcube` alone prints usage and exits 0, as the Python CLI does.
  await execute({ loadOptions: config, args: argv.length ? argv : ['--help'] });
  since('command done');
}

/** An error that is not an MlcubeError, from `run` without oclif: reported by oclif, as on this path. */
export async function reportUnexpected(e: Error): Promise<void> {
  if (process.env.MLCUBE_LOG_LEVEL === 'debug') process.stderr.write(`${e.stack}\n`);
  await handle(e);
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
