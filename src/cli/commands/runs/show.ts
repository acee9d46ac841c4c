import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { BaseCommand, whereFlags } from '../../base-command.js';
import { showRun } from '../../../app/runs.js';

export default class RunsShow extends BaseCommand {
  static summary = 'Print one run record (JSON): configuration, parameters with digests, metrics, lineage.';
  static args = { id: Args.string({ required: true, description: 'Run id, a unique prefix/suffix of one, or "latest".' }) };
  static flags = { ...whereFlags, json: Flags.boolean({ description: 'Print JSON (the default output is JSON too).' }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(RunsShow);
    this.outJson(await showRun(args.id, { mlcube: flags.mlcube, workspace: flags.workspace }, this.app()));
  }
}
