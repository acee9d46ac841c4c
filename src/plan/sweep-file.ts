import { assertSchema } from '../config/schemas.js';
import { readYamlFile } from '../config/yaml-source.js';
import { sweepFileFactors, type SweepFactor, type SweepFileContent } from './sweep.js';

/**
 * `--sweep-file=FILE`: read, checked against schemas/sweep.schema.json (a located ConfigError, exit 2) and turned
 * into the sweep's factors (src/plan/sweep.ts), each key located in the file for later errors.
 */
export function readSweepFile(file: string): SweepFactor[] {
  const src = readYamlFile(file);
  assertSchema('sweep.schema.json', src.value, (path, atKey) => src.place(path, atKey), `the sweep file ${file}`);
  return sweepFileFactors(src.value as SweepFileContent, file, (path, atKey) => src.place(path, atKey));
}
