import * as Flags from '@oclif/core/flags';
import { BaseCommand, whereFlags } from '../../base-command.js';
import { exportLineage } from '../../../app/runs.js';
import { outputFormat } from '../../json-output.js';

export default class ProvenanceExport extends BaseCommand {
  static summary = "The lineage graph of the recorded runs (which run consumed which run's outputs), as JSON or Graphviz DOT.";
  static strict = false;
  static flags = {
    ...whereFlags,
    format: Flags.string({ options: ['json', 'dot'], description: 'Output format (default json).' }),
    json: Flags.boolean({ description: 'Print JSON (the same as --format=json).' }),
    'max-depth': Flags.integer({ min: 0, description: 'Hops back from the given runs (default: unlimited).' }),
  };
  static examples = ['mlcube provenance export --mlcube=cubes/mnist --format=dot | dot -Tsvg > lineage.svg', 'mlcube provenance export RUN_ID --max-depth=1'];

  async run(): Promise<void> {
    const { flags, argv } = await this.parse(ProvenanceExport);
    const format = outputFormat(flags) as 'json' | 'dot';
    this.out(exportLineage({ mlcube: flags.mlcube, workspace: flags.workspace, runs: argv as string[], maxDepth: flags['max-depth'], format }, this.app()));
  }
}
