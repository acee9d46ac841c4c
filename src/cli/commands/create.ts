import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../base-command.js';
import { createCube } from '../../app/create.js';

export default class Create extends BaseCommand {
  static summary = 'Create a new cube from the built-in template (offline).';
  static examples = ['mlcube create --name=my-cube', 'mlcube run --mlcube=my-cube --platform=local --task=greet'];
  static flags = {
    name: Flags.string({ required: true, description: 'Cube name (also the docker image name).' }),
    dir: Flags.string({ description: 'Directory to create (default: ./<name>); must not exist or be empty.' }),
    json: Flags.boolean({ description: 'Print JSON.' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Create);
    const dir = createCube({ name: flags.name, dir: flags.dir }, process.cwd());
    if (flags.json) this.outJson({ dir });
    else this.out(`created ${dir}\nnext: mlcube run --mlcube=${dir} --platform=local --task=greet`);
  }
}
