import * as Flags from '@oclif/core/flags';
import { BaseCommand, whereFlags } from '../../base-command.js';
import { compareRuns, renderCompare } from '../../../app/runs.js';

export default class RunsCompare extends BaseCommand {
  static summary = 'Parameters and final metrics of several runs side by side.';
  static strict = false;
  static flags = { ...whereFlags, json: Flags.boolean({ description: 'Print JSON.' }) };
  static examples = ['mlcube runs compare 20250101T120000Z-train-a1b2c3 20250102T090000Z-train-d4e5f6 --mlcube=cubes/mnist'];

  async run(): Promise<void> {
    const { flags, argv } = await this.parse(RunsCompare);
    const c = compareRuns(argv as string[], { mlcube: flags.mlcube, workspace: flags.workspace }, this.app());
    if (flags.json) this.outJson(c);
    else this.out(renderCompare(c));
  }
}
