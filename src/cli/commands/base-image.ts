import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../base-command.js';
import { makeBaseImage, DEFAULT_BASE_TAG } from '../../app/base-image.js';

export default class BaseImage extends BaseCommand {
  static summary = "Make a Docker base image from this host's Node.js (no registry needed).";
  static description =
    "Imports a rootfs holding the host's node binary and its shared libraries into the local Docker daemon. Cube Dockerfiles can then start FROM it on machines without a registry (see cubes/mnist/Dockerfile).";
  static flags = {
    tag: Flags.string({ default: DEFAULT_BASE_TAG, description: 'Image tag to create.' }),
    json: Flags.boolean({ description: 'Print JSON.' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(BaseImage);
    const id = await makeBaseImage(flags.tag, this.app());
    if (flags.json) this.outJson({ tag: flags.tag, id });
    else this.out(`${flags.tag} ${id}`);
  }
}
