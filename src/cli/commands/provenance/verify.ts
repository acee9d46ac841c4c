import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../../base-command.js';
import { verifyProvenance } from '../../../app/runs.js';

export default class ProvenanceVerify extends BaseCommand {
  static summary = 'Verify a run: its signature, and every recorded digest against the files now on disk. Exits 5 listing every mismatch.';
  static args = { run: Args.string({ required: true, description: 'Run id (in --workspace), a run directory, its record.json or its provenance.dsse.json.' }) };
  static flags = {
    workspace: Flags.string({ description: 'Workspace of the run (default: current directory).' }),
    'public-key': Flags.string({ description: 'Public key (PEM) to trust; default $MLCUBE_PUBLIC_KEY, else the .pub beside the signing key.' }),
    json: Flags.boolean({ description: 'Print the result as JSON (on success).' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ProvenanceVerify);
    const r = await verifyProvenance(args.run, { workspace: flags.workspace, publicKey: flags['public-key'] }, this.app());
    this.out(flags.json ? JSON.stringify(r, null, 2) : [`run ${r.run_id}: verified`, ...r.notes.map((n) => `  note: ${n}`)].join('\n'));
  }
}
