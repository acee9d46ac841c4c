import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../base-command.js';
import { withInterrupt } from '../interrupt.js';
import { encrypt } from '../../app/encrypt.js';

export default class Encrypt extends BaseCommand {
  static summary = 'Encrypt a file or directory (AES-256-GCM in authenticated chunks) with a 32-byte key file or to an X25519 public key.';
  static args = {
    src: Args.string({ required: true, description: 'The file or directory to encrypt.' }),
    dst: Args.string({ required: true, description: 'The encrypted file to write (refused when it exists, unless --force).' }),
  };
  static flags = {
    'key-file': Flags.string({ description: 'A file of 32 random bytes (e.g. `head -c 32 /dev/urandom > KEY`) or 64 hex digits.' }),
    recipient: Flags.string({ description: "The consumer's X25519 public key (recipient.pub of `mlcube keys generate --kind=x25519`): only its private key decrypts." }),
    force: Flags.boolean({ description: 'Replace DST when it exists (once the new file is complete).' }),
    json: Flags.boolean({ description: 'Print JSON.' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Encrypt);
    // Ctrl-C stops between chunks and removes the temp sibling (exit 130): nothing is left at or beside DST.
    const r = await withInterrupt((signal) => encrypt(args.src, args.dst, { keyFile: flags['key-file'], recipient: flags.recipient, force: flags.force }, this.app(), signal));
    if (flags.json) return this.outJson(r);
    this.out(`encrypted ${r.kind} ${r.src} -> ${r.dst} (${r.key_mode === 'x25519' ? 'recipient' : 'key'} fingerprint ${r.key_fingerprint}, ciphertext sha256 ${r.ciphertext_sha256})`);
  }
}
