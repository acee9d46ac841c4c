import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { BaseCommand, whereFlags } from '../../base-command.js';
import { deletedJson, deleteRuns, renderDeleted } from '../../../app/runs-delete.js';

export default class RunsDelete extends BaseCommand {
  static summary = 'Delete run records: by id, or every run with a status (--status=failed,interrupted,killed).';
  static description =
    'Ids are resolved as by `runs show` (unique prefix/suffix, "latest"); all of them or none are deleted. A running run is never deleted, nor, without --force, one whose outputs a signed run consumed (its lineage).';
  static strict = false;
  static args = { id: Args.string({ description: 'Run ids (several may be given), each a unique prefix/suffix of one, or "latest".' }) };
  static flags = {
    ...whereFlags,
    status: Flags.string({ description: 'Delete every run with one of these statuses (comma-separated: succeeded, failed, interrupted, killed, timed_out) instead of named ones.' }),
    force: Flags.boolean({ description: 'Delete runs that signed runs consumed (their lineage) too.' }),
    'dry-run': Flags.boolean({ description: 'Say what would be deleted; delete nothing.' }),
    json: Flags.boolean({ description: 'Print JSON.' }),
  };
  static examples = ['mlcube runs delete --status=failed,interrupted,killed --mlcube=cubes/mnist', 'mlcube runs delete 20250101T120000Z-train-a1b2c3 --workspace=workspace/mnist'];

  async run(): Promise<void> {
    const { flags, argv } = await this.parse(RunsDelete);
    const r = await deleteRuns(
      { ids: argv as string[], status: flags.status, force: flags.force === true, dryRun: flags['dry-run'] === true },
      { mlcube: flags.mlcube, workspace: flags.workspace },
      this.app(),
    );
    if (flags.json) this.outJson(deletedJson(r));
    else this.out(renderDeleted(r));
  }
}
