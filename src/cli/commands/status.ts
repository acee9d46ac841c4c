import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { BaseCommand, whereFlags } from '../base-command.js';
import { jobStatus, renderStatus } from '../../app/jobs.js';
import { jobStatusJson } from '../json-output.js';

export default class Status extends BaseCommand {
  static summary = 'Show the state of Slurm jobs submitted by `mlcube run --platform=slurm`.';
  static strict = false;
  static args = { ids: Args.string({ description: 'Job ids (as printed by run --detach); none: the last Slurm run of the workspace (--mlcube / --workspace).' }) };
  static flags = { ...whereFlags, json: Flags.boolean({ description: 'Print JSON.' }) };
  static examples = ['mlcube status 1234 1235', 'mlcube status --mlcube=cubes/mnist', 'mlcube status --workspace=/scratch/me/mnist --json'];

  async run(): Promise<void> {
    const { flags, argv } = await this.parse(Status);
    const rows = await jobStatus({ ids: argv as string[], mlcube: flags.mlcube, workspace: flags.workspace }, this.app());
    if (flags.json) this.outJson({ jobs: rows.map(jobStatusJson) });
    else this.out(renderStatus(rows));
  }
}
