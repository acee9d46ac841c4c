import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../../base-command.js';
import { generateKeyPair } from '../../../app/runs.js';
import { generateEncryptionKeys } from '../../../app/encrypt.js';

export default class KeysGenerate extends BaseCommand {
  static summary = 'Make an Ed25519 key pair for signing run provenance, or an X25519 pair for encrypted outputs (private key mode 0600; key material is never printed).';
  static flags = {
    kind: Flags.string({
      options: ['ed25519', 'x25519'],
      default: 'ed25519',
      description: 'ed25519: signing.key + signing.pub, which sign runs. x25519: identity.key + recipient.pub; hand recipient.pub to whoever encrypts for you (`mlcube encrypt --recipient`).',
    }),
    dir: Flags.string({ description: 'Directory for the pair (default ~/.mlcube/keys, where runs find the signing key).' }),
    force: Flags.boolean({ description: 'Replace an existing pair.' }),
    json: Flags.boolean({ description: 'Print JSON.' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(KeysGenerate);
    if (flags.kind === 'x25519') {
      const k = generateEncryptionKeys({ dir: flags.dir, force: flags.force }, this.app());
      if (flags.json) return this.outJson({ kind: 'x25519', private_key: k.privateKey, public_key: k.publicKey, keyid: k.keyid });
      return this.out(
        `private key ${k.privateKey} (mode 0600)\npublic key  ${k.publicKey}\nkey id      ${k.keyid} (the recipient fingerprint)\nHand the public key to whoever encrypts for you: mlcube encrypt --recipient=${k.publicKey} SRC DST; decrypt with --identity=${k.privateKey}.`,
      );
    }
    const k = generateKeyPair({ dir: flags.dir, force: flags.force }, this.app());
    if (flags.json) this.outJson({ kind: 'ed25519', private_key: k.privateKey, public_key: k.publicKey, keyid: k.keyid });
    else
      this.out(
        `private key ${k.privateKey} (mode 0600)\npublic key  ${k.publicKey}\nkey id      ${k.keyid}\nSigning is on for runs when this key is ~/.mlcube/keys/signing.key or MLCUBE_SIGNING_KEY points at it.`,
      );
  }
}
