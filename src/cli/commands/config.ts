import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../base-command.js';
import { SettingsAdmin, renderSettings } from '../../app/settings-admin.js';
import { UsageError } from '../../errors.js';

const pair = (description: string) => Flags.string({ multiple: true, description });

export default class Config extends BaseCommand {
  static summary = 'Display or change the system settings (named platforms and runners).';
  static description = 'Settings live in $MLCUBE_SYSTEM_SETTINGS or ~/mlcube.yaml (as for the Python MLCube). Edits keep comments and are atomic.';
  static examples = ['mlcube config --list', 'mlcube config --create-platform docker docker_gpu', 'mlcube config --get platforms.docker.build_strategy'];
  static flags = {
    list: Flags.boolean({ description: 'List all platforms.' }),
    get: Flags.string({ description: 'Print the value of a dotted key.' }),
    'create-platform': pair("RUNNER NAME: create a platform with the runner's defaults."),
    'remove-platform': Flags.string({ description: 'NAME: remove a platform.' }),
    'rename-platform': pair('OLD NEW: rename a platform.'),
    'copy-platform': pair('SRC NEW: copy a platform (built-in ones too).'),
    'rename-runner': pair("OLD NEW: rename an entry of the settings file's runners: section (with --update-platforms, the platforms using it follow)."),
    'update-platforms': Flags.boolean({ description: 'With --rename-runner: point the platforms that use OLD at NEW.', dependsOn: ['rename-runner'] }),
    'remove-runner': Flags.string({ description: "NAME: remove an entry of the settings file's runners: section (with --remove-platforms, the platforms using it too)." }),
    'remove-platforms': Flags.boolean({ description: 'With --remove-runner: remove the platforms that use it.', dependsOn: ['remove-runner'] }),
    json: Flags.boolean({ description: 'Print JSON.' }),
  };

  async run(): Promise<void> {
    const normalized = this.argv.map((a) => a.replace(/^--(create|remove|rename|copy|update)_(platforms?|runner)(?=$|=)/, '--$1-$2'));
    const { flags } = await this.parse(Config, normalized);
    const admin = new SettingsAdmin(this.app());
    process.stderr.write(`System settings file path = ${admin.file}\n`);
    const two = (v: string[], flag: string, names: string): [string, string] => {
      if (v.length !== 2) throw new UsageError(`--${flag} takes ${names} (got ${JSON.stringify(v)})`, { suggestions: [`mlcube config --${flag} ${names}`] });
      return [v[0], v[1]];
    };
    // What a runner edit did to platforms, on stderr (stdout carries data only).
    const said = (done: string, platforms: string[], why: string) => platforms.length && process.stderr.write(`${done} platform${platforms.length > 1 ? 's' : ''} ${platforms.join(', ')} (${why})\n`);
    const show = (v: unknown) => (flags.json ? this.outJson(v) : this.out(typeof v === 'object' && v !== null ? renderSettings(v) : String(v)));
    if (flags['create-platform']) admin.createPlatform(...two(flags['create-platform'], 'create-platform', 'RUNNER NAME'));
    else if (flags['remove-platform']) admin.removePlatform(flags['remove-platform']);
    else if (flags['rename-platform']) admin.renamePlatform(...two(flags['rename-platform'], 'rename-platform', 'OLD NEW'));
    else if (flags['copy-platform']) admin.copyPlatform(...two(flags['copy-platform'], 'copy-platform', 'SRC NEW'));
    else if (flags['rename-runner']) {
      const [from, to] = two(flags['rename-runner'], 'rename-runner', 'OLD NEW');
      said('updated', admin.renameRunner(from, to, flags['update-platforms'] === true), `runner: ${to}`);
    } else if (flags['remove-runner']) said('removed', admin.removeRunner(flags['remove-runner'], flags['remove-platforms'] === true), `they used runner ${flags['remove-runner']}`);
    else if (flags.get) return show(admin.get(flags.get));
    else return show(admin.list());
    // An edit prints nothing; under --json, the settings it left (with --json every command prints one document).
    if (flags.json) show(admin.list());
  }
}
