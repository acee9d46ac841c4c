import * as Flags from '@oclif/core/flags';
import { BaseCommand, whereFlags } from '../../base-command.js';
import { listRuns, renderRuns } from '../../../app/runs.js';

export default class RunsList extends BaseCommand {
  static summary = 'List the recorded task runs of a workspace (<workspace>/.mlcube/runs).';
  static flags = { ...whereFlags, json: Flags.boolean({ description: 'Print JSON.' }) };
  static examples = ['mlcube runs list --mlcube=cubes/mnist', 'mlcube runs list --workspace=workspace/mnist'];

  async run(): Promise<void> {
    const { flags } = await this.parse(RunsList);
    const list = await listRuns({ mlcube: flags.mlcube, workspace: flags.workspace }, this.app());
    if (flags.json) this.outJson({ workspace: list.where.dir, runs: list.runs });
    else this.out(renderRuns(list));
  }
}
