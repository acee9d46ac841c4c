import { isMlcubeError } from '../errors.js';
import { createLogger, isLevel } from '../log.js';
import { realAppEnv } from '../app/context.js';
import { executeRun } from './run-execute.js';
import { writeMlcubeError } from './error-report.js';
import { since } from './since.js';
import type { RunCommandLine } from './run-argv.js';

/**
 * `mlcube run` without oclif (bundled into dist/run.cjs, started by the bin for the command lines
 * parseRunArgv takes): as the oclif command runs it (src/cli/commands/run.ts, BaseCommand), MlcubeErrors reported
 * alike. Any other error is rethrown, for the launcher to report through oclif.
 */
export async function runWithoutOclif(commandLine: RunCommandLine): Promise<void> {
  const level = process.env.MLCUBE_LOG_LEVEL;
  try {
    await executeRun(commandLine, realAppEnv(createLogger(isLevel(level) ? level : 'info')), (text) => process.stdout.write(text.endsWith('\n') ? text : text + '\n'));
    since('command done');
  } catch (e) {
    if (!isMlcubeError(e)) throw e;
    writeMlcubeError(e);
    process.exitCode = e.exitCode;
  }
}
