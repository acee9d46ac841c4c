import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../base-command.js';
import { withInterrupt } from '../interrupt.js';
import { decrypt } from '../../app/encrypt.js';

export default class Decrypt extends BaseCommand {
  static summary = 'Decrypt what `mlcube encrypt` wrote; DST appears only once every chunk authenticated (exit 5 and nothing at DST otherwise).';
  static args = {
    src: Args.string({ required: true, description: 'The encrypted file.' }),
    dst: Args.string({ required: true, description: 'The file or directory to create, as it was encrypted (refused when it exists, unless --force).' }),
  };
  static flags = {
    'key-file': Flags.string({ description: 'The key file it was encrypted with (32 raw bytes or 64 hex digits).' }),
    identity: Flags.string({ description: 'The X25519 private key (identity.key of `mlcube keys generate --kind=x25519`) it was sealed to.' }),
    force: Flags.boolean({ description: 'Replace DST when it exists (only after the whole plaintext authenticated).' }),
    json: Flags.boolean({ description: 'Print JSON.' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Decrypt);
    // Ctrl-C stops between chunks and removes the temp sibling (exit 130): nothing is left at or beside DST.
    const r = await withInterrupt((signal) => decrypt(args.src, args.dst, { keyFile: flags['key-file'], identity: flags.identity, force: flags.force }, this.app(), signal));
    if (flags.json) return this.outJson(r);
    const what = r.kind === 'directory' ? `directory (${r.files} files, ${r.directories} directories)` : 'file';
    this.out(`decrypted ${r.src} -> ${what} ${r.dst} (${r.key_mode === 'x25519' ? 'recipient' : 'key'} fingerprint ${r.key_fingerprint})`);
  }
}
