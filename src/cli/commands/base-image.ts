import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../base-command.js';
import { baseImage } from '../../app/base-image.js';

export default class BaseImage extends BaseCommand {
  static summary = "Make a Docker base image from this host's Debian package source (no registry needed).";
  static description =
    "Makes a Debian minbase root filesystem with mmdebstrap from the host's apt source and imports it into the local Docker daemon: mlcube/node-base:<node major> (with this host's node) or, with --debian, mlcube/debian:<suite>[_<packages>]. An image made from the same suite and packages is reused. Cube Dockerfiles then start FROM it on machines without a registry (see the README's Docker runner section).";
  static flags = {
    debian: Flags.boolean({ description: "A plain Debian image (mlcube/debian:...), without this host's node." }),
    packages: Flags.string({ description: 'Debian packages to install, comma-separated (e.g. python3,python3-numpy).' }),
    suite: Flags.string({ description: "Debian release (default: this host's)." }),
    tag: Flags.string({ description: 'Image tag to create (default: derived from the suite, the packages and the kind).' }),
    rebuild: Flags.boolean({ description: 'Make it again even when an image made of the same is there.' }),
    json: Flags.boolean({ description: 'Print JSON.' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(BaseImage);
    const r = await baseImage({ debian: flags.debian, packages: flags.packages, suite: flags.suite, tag: flags.tag, rebuild: flags.rebuild }, this.app());
    if (flags.json) this.outJson(r);
    else this.out(`${r.tag} ${r.id}`);
  }
}
