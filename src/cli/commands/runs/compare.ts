import * as Flags from '@oclif/core/flags';
import { BaseCommand, whereFlags } from '../../base-command.js';
import { compareRuns, renderCompare } from '../../../app/runs.js';
import { compareSweep, renderSweepComparison } from '../../../app/runs-sweep.js';
import { UsageError } from '../../../errors.js';

export default class RunsCompare extends BaseCommand {
  static summary = 'Parameters and final metrics of several runs side by side, or of every point of a sweep.';
  static strict = false;
  static flags = {
    ...whereFlags,
    json: Flags.boolean({ description: 'Print JSON.' }),
    sweep: Flags.string({ description: "A sweep's id: one row per point, with the swept values, the point's status and its tasks' final metrics (README \"Sweeps and experiments\")." }),
  };
  static examples = [
    'mlcube runs compare 20250101T120000Z-train-a1b2c3 20250102T090000Z-train-d4e5f6 --mlcube=cubes/mnist',
    'mlcube runs compare --sweep=lr-study-20261201T195058Z-1a2b3c --mlcube=cubes/mnist',
  ];

  async run(): Promise<void> {
    const { flags, argv } = await this.parse(RunsCompare);
    const where = { mlcube: flags.mlcube, workspace: flags.workspace };
    if (flags.sweep !== undefined) {
      if (argv.length) throw new UsageError(`--sweep=${flags.sweep} and run ids (${argv.join(' ')}): compare either a sweep or runs`, { suggestions: ['Drop the run ids, or drop --sweep.'] });
      const c = compareSweep(flags.sweep, where, this.app());
      if (flags.json) this.outJson(c);
      else this.out(renderSweepComparison(c));
      return;
    }
    const c = compareRuns(argv as string[], where, this.app());
    if (flags.json) this.outJson(c);
    else this.out(renderCompare(c));
  }
}
