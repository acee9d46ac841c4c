import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { BaseCommand, whereFlags } from '../../base-command.js';
import { verifyFailure, verifyProvenance } from '../../../app/runs.js';
import { failureDocument } from '../../json-output.js';

export default class ProvenanceVerify extends BaseCommand {
  static summary = 'Verify a run: its signature by the trusted key, and every recorded digest against the files of the workspace the run is in. Exits 5 listing every problem.';
  static args = { run: Args.string({ required: true, description: 'A run directory (<workspace>/.mlcube/runs/<id>, or its record.json), or a run id in the workspace (--mlcube / --workspace).' }) };
  static flags = {
    ...whereFlags,
    cube: Flags.string({ description: 'Cube directory to check the cube file and code against (default: where the record says).' }),
    'public-key': Flags.string({ description: 'Public key (PEM) to trust; default $MLCUBE_PUBLIC_KEY, else the public half of your own signing key.' }),
    json: Flags.boolean({ description: 'Print the result as JSON (on failure too, with every problem and the error).' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ProvenanceVerify);
    const r = await verifyProvenance(args.run, { mlcube: flags.mlcube, workspace: flags.workspace, publicKey: flags['public-key'], cube: flags.cube }, this.app());
    if (!r.ok) {
      const failure = verifyFailure(r);
      if (flags.json) this.outJson(failureDocument(failure, r));
      throw failure;
    }
    const key = r.trusted_key!;
    if (flags.json) return this.outJson(r);
    this.out([`run ${r.run_id}: verified (workspace ${r.workspace}; signed by key ${key.keyid}, trusted from ${key.source})`, ...r.notes.map((n) => `  note: ${n}`)].join('\n'));
  }
}
