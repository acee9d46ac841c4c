import { Config } from '@oclif/core/config';
import { execute } from '@oclif/core/execute';
import { handle } from '@oclif/core/handle';

export { COMMANDS } from './commands/index.js';

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
