import { Config } from '@oclif/core/config';
import { execute } from '@oclif/core/execute';
import { handle } from '@oclif/core/handle';
import { since } from './since.js';

export { COMMANDS } from './commands/index.js';

/**
 * The CLI through oclif, bundled into dist/cli.cjs and started by the bin (dist/mlcube.cjs, src/cli/launcher.ts),
 * which has taken --log-level out of `argv`. `entryUrl` is the bin's URL: oclif finds package.json above it.
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
