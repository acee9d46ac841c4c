import { Command } from '@oclif/core/command';
import * as Flags from '@oclif/core/flags';
import { isMlcubeError } from '../errors.js';
import { createLogger, isLevel, type Logger } from '../log.js';
import { realAppEnv, type AppEnv } from '../app/context.js';
import { splitTaskOverrides } from './run-argv.js';
import { writeMlcubeError } from './error-report.js';
import { failureDocument, jsonText } from './json-output.js';

/**
 * Where the cube and its workspace are: one definition for every command (src/config/workspace-location.ts
 * resolves them the same way everywhere).
 */
export const whereFlags = {
  mlcube: Flags.string({ description: 'Cube directory (holding mlcube.yaml) or the cube YAML file itself. Default: current directory.' }),
  workspace: Flags.string({
    description: 'Workspace directory (relative to the current directory): the files of relative parameter paths and the run records (.mlcube/). Default: <cube root>/workspace.',
  }),
};

/** Flags shared by the cube commands (names and spellings of the Python MLCube CLI). */
export const cubeFlags = {
  mlcube: whereFlags.mlcube,
  platform: Flags.string({ description: 'Platform name: a runner (docker, singularity, local) or a platform from the system settings file.', default: 'docker' }),
  workspace: whereFlags.workspace,
  P: Flags.string({
    char: 'P',
    charAliases: ['p'],
    multiple: true,
    multipleNonGreedy: true,
    description: 'Configuration override KEY.PATH=VALUE (e.g. -Pdocker.image=name:tag); repeatable. Unknown keys are errors.',
  }),
};

/**
 * Base of every command: a logger on stderr, the real world for use cases, and MlcubeError -> message,
 * suggestions and documented exit code (no stack trace for user errors).
 */
export abstract class BaseCommand extends Command {
  protected readonly logger: Logger = createLogger(isLevel(process.env.MLCUBE_LOG_LEVEL) ? process.env.MLCUBE_LOG_LEVEL : 'info');

  protected app(): AppEnv {
    return realAppEnv(this.logger);
  }

  /** Raw argv split into what oclif parses and task-parameter overrides (see splitTaskOverrides). */
  protected splitTaskOverrides(flagNames: string[]): { argv: string[]; overrides: string[] } {
    return splitTaskOverrides(this.argv, flagNames);
  }

  /** Something was written to stdout: a failure adds no JSON document of its own then (one document per command). */
  private wroteData = false;

  /** Writes data to stdout (logs never go there). */
  protected out(text: string): void {
    this.wroteData = true;
    process.stdout.write(text.endsWith('\n') ? text : text + '\n');
  }

  /** Writes the command's one JSON document (src/cli/json-output.ts: snake_case keys). */
  protected outJson(value: unknown): void {
    this.out(jsonText(value));
  }

  /** --json was given (looked up in the raw arguments: a command line oclif refused has no parsed flags). */
  protected jsonRequested(): boolean {
    const end = this.argv.indexOf('--');
    return (end < 0 ? this.argv : this.argv.slice(0, end)).includes('--json');
  }

  protected async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<unknown> {
    // With --json a failure is a JSON document on stdout too (unless the command printed its own); stderr keeps the message.
    if (this.jsonRequested() && !this.wroteData) this.outJson(failureDocument(err));
    if (isMlcubeError(err)) {
      writeMlcubeError(err);
      process.exitCode = err.exitCode;
      this.exit(err.exitCode);
    }
    if (process.env.MLCUBE_LOG_LEVEL === 'debug') process.stderr.write(`${err.stack}\n`);
    return super.catch(err);
  }
}
