import type { KeyObject } from 'node:crypto';
import { nodeCrypto } from './crypto.js';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { writeFileAtomic } from '../atomic-write.js';

/** Private key file name in a key directory; the public key sits beside it with `.pub`. */
export const PRIVATE_KEY_FILE = 'signing.key';
export const PUBLIC_KEY_FILE = 'signing.pub';
/** Env var: path of the Ed25519 private key (PKCS#8 PEM) that signs run provenance. */
export const SIGNING_KEY_ENV = 'MLCUBE_SIGNING_KEY';
/** Env var: path of the public key (SPKI PEM) `provenance verify` trusts. */
export const PUBLIC_KEY_ENV = 'MLCUBE_PUBLIC_KEY';

export const defaultKeyDir = (home: string) => join(home, '.mlcube', 'keys');

/** Key id: sha256 (hex) of the public key's DER (SPKI) bytes. */
export function keyId(key: KeyObject): string {
  const pub = key.type === 'private' ? nodeCrypto().createPublicKey(key) : key;
  return nodeCrypto()
    .createHash('sha256')
    .update(pub.export({ format: 'der', type: 'spki' }))
    .digest('hex');
}

/** Makes an Ed25519 key pair in `dir`; the private key is created with mode 0600 and never printed. */
export function generateKeys(dir: string, force = false): { privateKey: string; publicKey: string; keyid: string } {
  const privateKey = join(dir, PRIVATE_KEY_FILE);
  const publicKey = join(dir, PUBLIC_KEY_FILE);
  if (!force && (existsSync(privateKey) || existsSync(publicKey))) {
    throw new UsageError(`a key pair already exists in ${dir}`, {
      suggestions: ['Pass --force to replace it (runs signed with the old key then need the old public key to verify), or choose another --dir.'],
    });
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pair = nodeCrypto().generateKeyPairSync('ed25519');
  writeFileAtomic(privateKey, pair.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, 0o600);
  chmodSync(privateKey, 0o600);
  writeFileAtomic(publicKey, pair.publicKey.export({ format: 'pem', type: 'spki' }) as string, 0o644);
  return { privateKey, publicKey, keyid: keyId(pair.publicKey) };
}

/** The signing key in use: $MLCUBE_SIGNING_KEY, else ~/.mlcube/keys/signing.key when it exists; none = unsigned runs. */
export function signingKeyPath(env: Record<string, string | undefined>, home: string): string | undefined {
  const fromEnv = env[SIGNING_KEY_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const p = join(defaultKeyDir(home), PRIVATE_KEY_FILE);
  return existsSync(p) ? p : undefined;
}

export function loadPrivateKey(path: string): KeyObject {
  let key: KeyObject;
  try {
    key = nodeCrypto().createPrivateKey(readFileSync(path));
  } catch (e) {
    // The message must not quote the file: it holds key material.
    throw new UsageError(`cannot read the signing key ${path} (${(e as NodeJS.ErrnoException).code ?? 'not a PEM private key'})`, {
      suggestions: [`Make one with \`mlcube keys generate\`, or point ${SIGNING_KEY_ENV} at an Ed25519 PKCS#8 PEM file.`],
    });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new UsageError(`the signing key ${path} is ${key.asymmetricKeyType}, not ed25519`, { suggestions: ['Make one with `mlcube keys generate`.'] });
  return key;
}

/**
 * The public key verify trusts (README "Trust anchor"): --public-key, else $MLCUBE_PUBLIC_KEY, else the public half
 * of this user's own signing key ($MLCUBE_SIGNING_KEY or ~/.mlcube/keys/signing.key). Never a `.pub` file found
 * beside the key or the run: a file anyone with write access there can replace anchors nothing.
 */
export function trustedPublicKey(explicit: string | undefined, env: Record<string, string | undefined>, home: string): { key: KeyObject; source: string } | undefined {
  const path = explicit || env[PUBLIC_KEY_ENV];
  if (path) {
    let key: KeyObject;
    try {
      key = nodeCrypto().createPublicKey(readFileSync(path));
    } catch (e) {
      throw new UsageError(`cannot read the public key ${path} (${(e as NodeJS.ErrnoException).code ?? 'not a PEM public key'})`, {
        suggestions: ['Pass the signing.pub made by `mlcube keys generate`, as the signer handed it to you, with --public-key.'],
      });
    }
    if (key.asymmetricKeyType !== 'ed25519')
      throw new UsageError(`the public key ${path} is ${key.asymmetricKeyType}, not ed25519`, { suggestions: ['Pass the signing.pub made by `mlcube keys generate`.'] });
    return { key, source: explicit ? `--public-key ${path}` : `${PUBLIC_KEY_ENV}=${path}` };
  }
  const priv = signingKeyPath(env, home);
  if (!priv) return undefined;
  return { key: nodeCrypto().createPublicKey(loadPrivateKey(priv)), source: `the public half of the signing key ${priv}` };
}
