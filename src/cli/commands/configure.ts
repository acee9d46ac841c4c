import { BaseCommand, cubeFlags } from '../base-command.js';
import { configureCube } from '../../app/configure.js';
import { withInterrupt } from '../interrupt.js';

export default class Configure extends BaseCommand {
  static summary = 'Configure MLCube.';
  static description = 'Prepares the platform for the cube: pulls or builds the image (docker, singularity); nothing to do for local.';
  static strict = false;
  static flags = { mlcube: cubeFlags.mlcube, platform: cubeFlags.platform, workspace: cubeFlags.workspace, P: cubeFlags.P };

  async run(): Promise<void> {
    const { flags } = await this.parse(Configure);
    await withInterrupt((signal) => configureCube({ mlcube: flags.mlcube, workspace: flags.workspace, platform: flags.platform, params: flags.P, signal }, this.app()));
  }
}
