import * as Flags from '@oclif/core/flags';
import { BaseCommand, cubeFlags } from '../base-command.js';
import { inspectCube } from '../../app/configure.js';
import { toYaml } from '../../app/show-config.js';
import { writeFileAtomic } from '../../atomic-write.js';
import { withInterrupt } from '../interrupt.js';
import { outputFormat } from '../json-output.js';

export default class Inspect extends BaseCommand {
  static summary = 'Return the information about the MLCube (e.g. the image hash).';
  static flags = {
    mlcube: cubeFlags.mlcube,
    platform: cubeFlags.platform,
    workspace: cubeFlags.workspace,
    P: cubeFlags.P,
    force: Flags.boolean({ description: 'Configure the cube first when its image does not exist.' }),
    format: Flags.string({ options: ['json', 'yaml'], description: 'Output format (default json).' }),
    json: Flags.boolean({ description: 'Print JSON (the same as --format=json).' }),
    'output-file': Flags.string({ aliases: ['output_file'], description: 'Write the result to this file (atomically) instead of stdout.' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Inspect);
    const format = outputFormat(flags);
    const info = await withInterrupt((signal) => inspectCube({ mlcube: flags.mlcube, workspace: flags.workspace, platform: flags.platform, params: flags.P, force: flags.force, signal }, this.app()));
    const text = format === 'yaml' ? toYaml(info) : JSON.stringify(info) + '\n';
    const file = flags['output-file'];
    if (!file) return this.out(text);
    writeFileAtomic(file, text);
  }
}
