import * as Flags from '@oclif/core/flags';
import { BaseCommand, whereFlags } from '../../base-command.js';
import { cacheGc, renderGc } from '../../../app/cache.js';

export default class CacheGc extends BaseCommand {
  static summary = "Clean the task cache: drop entries whose run record is gone, the store's objects no entry needs, and the least recently used ones past its size limit.";
  static description =
    'The store is <workspace>/.mlcube/cache/store unless the settings file says `cache: {dir: ...}`; its limit is `cache: {max_size: ...}` (default 10GiB). A configured store may serve other workspaces: there only the size limit applies. A task whose outputs went is run again next time.';
  static flags = { ...whereFlags, json: Flags.boolean({ description: 'Print JSON.' }) };
  static examples = ['mlcube cache gc --mlcube=cubes/mnist'];

  async run(): Promise<void> {
    const { flags } = await this.parse(CacheGc);
    const r = cacheGc({ mlcube: flags.mlcube, workspace: flags.workspace }, this.app());
    if (flags.json) this.outJson(r);
    else this.out(renderGc(r));
  }
}
