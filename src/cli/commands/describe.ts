import * as Flags from '@oclif/core/flags';
import { BaseCommand, cubeFlags } from '../base-command.js';
import { describeCube, renderDescription, renderGraph } from '../../app/describe.js';

export default class Describe extends BaseCommand {
  static summary = 'Describe this MLCube.';
  static flags = {
    mlcube: cubeFlags.mlcube,
    workspace: cubeFlags.workspace,
    json: Flags.boolean({ description: 'Print JSON (with the task graph).' }),
    graph: Flags.boolean({ description: 'Print the task graph after the description: which task waits for which, and why (README "Task graph").' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Describe);
    const d = describeCube({ mlcube: flags.mlcube, workspace: flags.workspace }, this.app());
    // Python ends the description with print(''): one blank line.
    if (flags.json) this.outJson(d);
    else this.out(renderDescription(d) + (flags.graph ? `\n${renderGraph(d.graph).join('\n')}\n` : '') + '\n');
  }
}
