import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { BaseCommand, whereFlags } from '../base-command.js';
import { makeCard } from '../../app/card.js';

export default class Card extends BaseCommand {
  static summary =
    'Model card of a trained model (Markdown, self-contained HTML, PNG plots) from the records of its evaluation run and the training run that produced it; the runs must verify (exit 5 otherwise).';
  static args = {
    run: Args.string({ required: false, description: 'The evaluation run (id or unique prefix); default: the latest finished run that read a model a recorded run produced.' }),
  };
  static flags = {
    ...whereFlags,
    out: Flags.string({ description: 'Directory to write model-card.md, model-card.html and the PNGs into. Default: <workspace>/model-card.' }),
    'public-key': Flags.string({ description: 'Public key (PEM) to verify the runs with; default $MLCUBE_PUBLIC_KEY, else the public half of your own signing key.' }),
    unverified: Flags.boolean({ description: 'Make the card of runs that do not verify, each marked UNVERIFIED with its problems.' }),
    json: Flags.boolean({ description: 'Print JSON.' }),
  };
  static examples = ['mlcube card --mlcube=cubes/mnist', 'mlcube card 20250101T120000Z-evaluate-a1b2c3 --workspace=ws --out=card'];

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Card);
    const r = await makeCard({ mlcube: flags.mlcube, workspace: flags.workspace, run: args.run, out: flags.out, publicKey: flags['public-key'], unverified: flags.unverified }, this.app());
    if (flags.json) return this.outJson(r);
    const lines = [
      `model card of ${r.training_run ? `${r.training_run} -> ` : ''}${r.evaluation_run}: release ${r.release ?? 'not gated'}${r.verified ? '' : ', UNVERIFIED'}`,
      ...r.files.map((f) => `  ${f}`),
    ];
    if (r.not_reported.length) lines.push(`  not reported: ${r.not_reported.join(', ')}`);
    this.out(lines.join('\n'));
  }
}
