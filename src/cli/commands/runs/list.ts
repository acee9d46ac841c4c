import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../../base-command.js';
import { listRuns, renderRuns } from '../../../app/runs.js';

export default class RunsList extends BaseCommand {
  static summary = 'List the recorded task runs of a workspace (<workspace>/.mlcube/runs).';
  static flags = { workspace: Flags.string({ description: 'Workspace whose runs to list (default: current directory).' }), json: Flags.boolean({ description: 'Print JSON.' }) };
  static examples = ['mlcube runs list --workspace=workspace/mnist'];

  async run(): Promise<void> {
    const { flags } = await this.parse(RunsList);
    const rows = await listRuns(flags.workspace, this.app());
    this.out(flags.json ? JSON.stringify({ runs: rows }, null, 2) : renderRuns(rows, flags.workspace, this.app()));
  }
}
