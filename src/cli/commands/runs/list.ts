import * as Flags from '@oclif/core/flags';
import { BaseCommand, whereFlags } from '../../base-command.js';
import { listRuns, renderRuns } from '../../../app/runs.js';
import { parseTags } from '../../../plan/sweep.js';

export default class RunsList extends BaseCommand {
  static summary = 'List the recorded task runs of a workspace (<workspace>/.mlcube/runs).';
  static flags = {
    ...whereFlags,
    json: Flags.boolean({ description: 'Print JSON.' }),
    experiment: Flags.string({ description: 'Only the runs of this experiment (run --experiment).' }),
    tag: Flags.string({ multiple: true, description: 'Only the runs with this tag KEY=VALUE (repeatable: all must match).' }),
    sweep: Flags.string({ description: 'Only the runs of this sweep (its id, as run --sweep logged it).' }),
    task: Flags.string({ description: 'Only the runs of this task.' }),
    status: Flags.string({ description: 'Only the runs with this status (running, succeeded, failed, interrupted, killed, timed_out).' }),
  };
  static examples = [
    'mlcube runs list --mlcube=cubes/mnist',
    'mlcube runs list --workspace=workspace/mnist',
    'mlcube runs list --experiment=lr-study --tag=owner=alice --task=train --status=succeeded',
  ];

  async run(): Promise<void> {
    const { flags } = await this.parse(RunsList);
    const filter = { experiment: flags.experiment, tags: flags.tag ? parseTags(flags.tag) : undefined, sweep: flags.sweep, task: flags.task, status: flags.status };
    const list = await listRuns({ mlcube: flags.mlcube, workspace: flags.workspace }, this.app(), filter);
    if (flags.json) this.outJson({ workspace: list.where.dir, runs: list.runs });
    else this.out(renderRuns(list));
  }
}
