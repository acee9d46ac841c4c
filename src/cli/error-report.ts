import type { MlcubeError } from '../errors.js';

/** How the CLI reports an MlcubeError: message and fixes on stderr, no stack trace (the exit code is the caller's). */
export function writeMlcubeError(err: MlcubeError): void {
  process.stderr.write(`mlcube error: ${err.render()}\n  (re-run with --log-level=debug for details)\n`);
}
