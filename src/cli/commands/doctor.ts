import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../base-command.js';
import { doctor, renderDoctor } from '../../app/doctor.js';

export default class Doctor extends BaseCommand {
  static summary = 'Probe every runner and say what is missing and how to get it.';
  static flags = { json: Flags.boolean({ description: 'Print JSON.' }) };

  async run(): Promise<void> {
    const { flags } = await this.parse(Doctor);
    const report = await doctor(this.app());
    if (flags.json) this.outJson(report);
    else this.out(renderDoctor(report));
  }
}
