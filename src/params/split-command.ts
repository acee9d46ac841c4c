import shellQuote from 'shell-quote';
import { ConfigError } from '../errors.js';

/**
 * Splits a command string like a POSIX shell (quotes honoured); $VARS and operators are not interpreted.
 * `configPath`: where the string sits in the effective configuration, so that the error can be located.
 */
export function splitCommand(cmd: string | readonly string[], what: string, configPath?: readonly string[]): string[] {
  if (Array.isArray(cmd)) return [...cmd];
  const parts = shellQuote.parse(cmd as string, (key: string) => `$${key}`);
  return parts.map((p) => {
    if (typeof p !== 'string') {
      throw new ConfigError(`${what} "${cmd}" contains a shell operator; commands are not run through a shell`, {
        configPath,
        suggestions: ['Put the pipeline in a script and name the script as the command.'],
      });
    }
    return p;
  });
}
