import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../base-command.js';
import { jobStatus, renderStatus } from '../../app/jobs.js';

export default class Status extends BaseCommand {
  static summary = 'Show the state of Slurm jobs submitted by `mlcube run --platform=slurm`.';
  static strict = false;
  static args = { ids: Args.string({ description: 'Job ids (as printed by run --detach); none: the last run of --workspace.' }) };
  static flags = { workspace: Flags.string({ description: 'Workspace of the run whose jobs to show.' }), json: Flags.boolean({ description: 'Print JSON.' }) };
  static examples = ['mlcube status 1234 1235', 'mlcube status --workspace=/scratch/me/mnist --json'];

  async run(): Promise<void> {
    const { flags, argv } = await this.parse(Status);
    const rows = await jobStatus({ ids: argv as string[], workspace: flags.workspace }, this.app());
    this.out(flags.json ? JSON.stringify({ jobs: rows }, null, 2) : renderStatus(rows));
  }
}
