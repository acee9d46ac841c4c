import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { decryptPath, encryptPath, type CryptResult } from '../crypto/files.js';
import { generateX25519Keys, identityOpener, keyOpener, keySealer, readIdentity, readKeyFile, readRecipient, recipientSealer } from '../crypto/keys.js';
import { defaultKeyDir } from '../provenance/keys.js';
import type { AppEnv } from './context.js';

/** `mlcube encrypt` / `mlcube decrypt` / `mlcube keys generate --kind=x25519` (README "Encrypted files"). */

function oneOf(flags: Record<string, string | undefined>, command: string): [string, string] {
  const given = Object.entries(flags).filter(([, v]) => v !== undefined && v !== '') as [string, string][];
  if (given.length === 1) return given[0];
  const names = Object.keys(flags).map((f) => `--${f}`);
  throw new UsageError(given.length ? `${names.join(' and ')} are exclusive` : `mlcube ${command} needs ${names.join(' or ')}`, {
    suggestions: [`Pass one: ${names[0]}=FILE (a 32-byte key) or ${names[1]}=FILE (an X25519 key from \`mlcube keys generate --kind=x25519\`).`],
  });
}

export async function encrypt(src: string, dst: string, flags: { keyFile?: string; recipient?: string; force?: boolean }, app: AppEnv, signal?: AbortSignal): Promise<CryptResult> {
  const [flag, file] = oneOf({ 'key-file': flags.keyFile, recipient: flags.recipient }, 'encrypt');
  const path = resolve(app.cwd, file);
  const sealer = flag === 'key-file' ? keySealer(readKeyFile(path)) : recipientSealer(readRecipient(path));
  return encryptPath(resolve(app.cwd, src), resolve(app.cwd, dst), sealer, { force: flags.force, signal });
}

export async function decrypt(src: string, dst: string, flags: { keyFile?: string; identity?: string; force?: boolean }, app: AppEnv, signal?: AbortSignal) {
  const [flag, file] = oneOf({ 'key-file': flags.keyFile, identity: flags.identity }, 'decrypt');
  const path = resolve(app.cwd, file);
  const opener = flag === 'key-file' ? keyOpener(readKeyFile(path), `--key-file=${file}`) : identityOpener(readIdentity(path), `--identity=${file}`);
  return decryptPath(resolve(app.cwd, src), resolve(app.cwd, dst), opener, { force: flags.force, signal });
}

/** An X25519 pair for encrypted outputs: identity.key (0600) and recipient.pub, by default in ~/.mlcube/keys. */
export function generateEncryptionKeys(opts: { dir?: string; force?: boolean }, app: AppEnv) {
  return generateX25519Keys(opts.dir ? resolve(app.cwd, opts.dir) : defaultKeyDir(app.home), opts.force === true);
}
