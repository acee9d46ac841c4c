import * as Flags from '@oclif/core/flags';
import { BaseCommand, cubeFlags } from '../base-command.js';
import { showConfig, toYaml } from '../../app/show-config.js';

export default class ShowConfig extends BaseCommand {
  static summary = 'Show effective MLCube configuration.';
  static description = 'Prints the configuration after merging the cube, the platform and the overrides, as YAML (or JSON with --json). Extra arguments name=value override task parameters.';
  static strict = false;
  static flags = {
    ...cubeFlags,
    resolve: Flags.boolean({ description: 'Resolve ${...} interpolations before printing.' }),
    json: Flags.boolean({ description: 'Print JSON instead of YAML.' }),
  };

  async run(): Promise<void> {
    const split = this.splitTaskOverrides(Object.keys(ShowConfig.flags).flatMap((f) => [f, ...((ShowConfig.flags as Record<string, { aliases?: string[] }>)[f].aliases ?? [])]));
    const { flags, argv } = await this.parse(ShowConfig, split.argv);
    const taskArgs = [...(argv as string[]), ...split.overrides];
    const cfg = showConfig({ mlcube: flags.mlcube, platform: flags.platform, workspace: flags.workspace, params: flags.P, taskArgs, resolve: flags.resolve }, this.app());
    // Python prints to_yaml() with print(): one blank line after the document.
    if (flags.json) this.outJson(cfg);
    else this.out(toYaml(cfg) + '\n');
  }
}
