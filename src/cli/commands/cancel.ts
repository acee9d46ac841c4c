import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { BaseCommand, whereFlags } from '../base-command.js';
import { cancelRun } from '../../app/jobs.js';

export default class Cancel extends BaseCommand {
  static summary = 'Cancel Slurm jobs submitted by `mlcube run --platform=slurm`.';
  static strict = false;
  static args = { ids: Args.string({ description: 'Job ids (as printed by run --detach); none: the last Slurm run of the workspace (--mlcube / --workspace).' }) };
  static flags = { ...whereFlags, json: Flags.boolean({ description: 'Print the cancelled ids as JSON.' }) };
  static examples = ['mlcube cancel 1234 1235', 'mlcube cancel --workspace=/scratch/me/mnist'];

  async run(): Promise<void> {
    const { flags, argv } = await this.parse(Cancel);
    const ids = await cancelRun({ ids: argv as string[], mlcube: flags.mlcube, workspace: flags.workspace }, this.app());
    if (flags.json) this.outJson({ cancelled: ids });
  }
}
