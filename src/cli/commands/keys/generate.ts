import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../../base-command.js';
import { generateKeyPair } from '../../../app/runs.js';

export default class KeysGenerate extends BaseCommand {
  static summary = 'Make an Ed25519 key pair for signing run provenance (private key mode 0600; key material is never printed).';
  static flags = {
    dir: Flags.string({ description: 'Directory for signing.key and signing.pub (default ~/.mlcube/keys, where runs find it).' }),
    force: Flags.boolean({ description: 'Replace an existing pair.' }),
    json: Flags.boolean({ description: 'Print JSON.' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(KeysGenerate);
    const k = generateKeyPair({ dir: flags.dir, force: flags.force }, this.app());
    if (flags.json) this.outJson({ private_key: k.privateKey, public_key: k.publicKey, keyid: k.keyid });
    else
      this.out(
        `private key ${k.privateKey} (mode 0600)\npublic key  ${k.publicKey}\nkey id      ${k.keyid}\nSigning is on for runs when this key is ~/.mlcube/keys/signing.key or MLCUBE_SIGNING_KEY points at it.`,
      );
  }
}
