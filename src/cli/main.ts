import { Config } from '@oclif/core/config';
import { execute } from '@oclif/core/execute';
import { handle } from '@oclif/core/handle';
import { since } from './since.js';

export { COMMANDS } from './commands/index.js';

/**
 * The CLI through oclif, bundled into dist/cli.cjs and started by the bin (dist/mlcube.cjs, src/cli/launcher.ts,
 * which has taken --log-level out of `argv`) for every command line but the plain `run`s (dist/run.cjs,
 * src/cli/run-main.ts). `entryUrl` is the bin's URL: oclif finds package.json above it.
 */
export async function main(entryUrl: string, argv: string[]): Promise<void> {
  since('CLI loaded');
  let config: Config;
  try {
    config = await Config.load(entryUrl);
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
