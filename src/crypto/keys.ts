import type { KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { nodeCrypto } from '../provenance/crypto.js';
import { UsageError } from '../errors.js';
import { mkdirWithMode, writeFileAtomic } from '../atomic-write.js';
import { FINGERPRINT_BYTES, type Header, type KeyMode } from './format.js';

/**
 * The keys of the encrypted format (README "Encrypted files"): a symmetric key (32 bytes, from a key file, an
 * environment variable or a key-release command) or an X25519 pair (the consumer's public key seals, its private key
 * opens). Each yields the per-file AES key through HKDF-SHA256 with the file's salt.
 */
export const KEY_BYTES = 32;
const KEY_FILE_INFO = 'mlcube-encrypt v1 key-file';
const X25519_INFO = 'mlcube-encrypt v1 x25519';

/** What seals a new file: its mode, the fingerprint for the header, and the file key for a salt. */
export interface Sealer {
  mode: KeyMode;
  fingerprint: string;
  fileKey(salt: Buffer): { key: Buffer; ephemeral?: Buffer };
}

/** What opens a file: the file key for its header, or why not (message and fix). */
export interface Opener {
  mode: KeyMode;
  fingerprint: string;
  /** How the user gave it, for messages: `--key-file=k.bin`. */
  source: string;
  fileKey(h: Header): Buffer;
}

const hkdf = (ikm: Buffer, salt: Buffer, info: Buffer) => Buffer.from(nodeCrypto().hkdfSync('sha256', ikm, salt, info, KEY_BYTES));

/** A hex digest, truncated, of `bytes` under a domain label: records may hold it; it reveals nothing of a 256-bit key. */
function fingerprint(label: string, bytes: Buffer): string {
  return nodeCrypto().createHash('sha256').update(`mlcube-encrypt v1 ${label}\0`).update(bytes).digest().subarray(0, FINGERPRINT_BYTES).toString('hex');
}

export const keyFingerprint = (key: Buffer) => fingerprint('key fingerprint', key);

const KEY_SHAPE = `${KEY_BYTES} raw bytes (e.g. \`head -c ${KEY_BYTES} /dev/urandom > KEY\`) or ${KEY_BYTES * 2} hex digits and at most one newline`;

/**
 * A symmetric key from its bytes: exactly 32 raw bytes, or 64 hex digits with an optional trailing newline (what an
 * environment variable or a key-release command's stdout can carry). `source` names where it came from.
 */
export function parseKey(bytes: Buffer, source: string): Buffer {
  if (bytes.length === KEY_BYTES) return Buffer.from(bytes);
  const text = bytes.toString('latin1').replace(/\r?\n$/, '');
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  throw new UsageError(`the key ${source} holds ${bytes.length} bytes that are neither ${KEY_BYTES} raw bytes nor ${KEY_BYTES * 2} hex digits`, {
    suggestions: [`A key is ${KEY_SHAPE}.`],
  });
}

export function readKeyFile(path: string, flag = '--key-file'): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new UsageError(`cannot read the key file ${path} (${(e as NodeJS.ErrnoException).code})`, { suggestions: [`Pass ${flag}=FILE holding ${KEY_SHAPE}.`] });
  }
  return parseKey(bytes, `file ${path}`);
}

const keyFileKey = (key: Buffer, salt: Buffer) => hkdf(key, salt, Buffer.from(KEY_FILE_INFO));

/** Seals with a symmetric key. */
export const keySealer = (key: Buffer): Sealer => ({ mode: 'key_file', fingerprint: keyFingerprint(key), fileKey: (salt) => ({ key: keyFileKey(key, salt) }) });

/** Opens what a symmetric key sealed. */
export const keyOpener = (key: Buffer, source: string): Opener => ({ mode: 'key_file', fingerprint: keyFingerprint(key), source, fileKey: (h) => keyFileKey(key, h.salt) });

// ---- X25519 -------------------------------------------------------------------------------------------------

export const IDENTITY_FILE = 'identity.key';
export const RECIPIENT_FILE = 'recipient.pub';

const rawPublic = (k: KeyObject) => Buffer.from(k.export({ format: 'jwk' }).x as string, 'base64url');
const publicFromRaw = (raw: Buffer) => nodeCrypto().createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: raw.toString('base64url') }, format: 'jwk' });

export const recipientFingerprint = (pub: KeyObject) => fingerprint('x25519 recipient', rawPublic(pub));

function sharedSecret(priv: KeyObject, pub: KeyObject): Buffer {
  const s = nodeCrypto().diffieHellman({ privateKey: priv, publicKey: pub });
  // An all-zero secret means a low-order public key: nothing secret would come of it (RFC 7748 §6.1).
  if (s.every((b) => b === 0)) throw new UsageError('the X25519 public key is a low-order point', { suggestions: ['Use a public key made by `mlcube keys generate --kind=x25519`.'] });
  return s;
}

const x25519Info = (ephemeral: Buffer, recipient: Buffer) => Buffer.concat([Buffer.from(X25519_INFO), ephemeral, recipient]);

/** Seals to a recipient's public key: a fresh ephemeral pair per file, its public half in the header. */
export function recipientSealer(pub: KeyObject): Sealer {
  const r = rawPublic(pub);
  return {
    mode: 'x25519',
    fingerprint: recipientFingerprint(pub),
    fileKey: (salt) => {
      const eph = nodeCrypto().generateKeyPairSync('x25519');
      const e = rawPublic(eph.publicKey);
      return { key: hkdf(sharedSecret(eph.privateKey, pub), salt, x25519Info(e, r)), ephemeral: e };
    },
  };
}

/** Opens what was sealed to the public half of `priv`. */
export function identityOpener(priv: KeyObject, source: string): Opener {
  const pub = nodeCrypto().createPublicKey(priv);
  return {
    mode: 'x25519',
    fingerprint: recipientFingerprint(pub),
    source,
    fileKey: (h) => hkdf(sharedSecret(priv, publicFromRaw(h.ephemeral!)), h.salt, x25519Info(h.ephemeral!, rawPublic(pub))),
  };
}

function readPem(path: string, what: 'public' | 'private', flag: string): KeyObject {
  const fix = `Pass ${flag}= the ${what === 'public' ? RECIPIENT_FILE : IDENTITY_FILE} made by \`mlcube keys generate --kind=x25519\`.`;
  let key: KeyObject;
  try {
    const pem = readFileSync(path);
    key = what === 'public' ? nodeCrypto().createPublicKey(pem) : nodeCrypto().createPrivateKey(pem);
  } catch (e) {
    // Never quote the file: it may hold key material.
    throw new UsageError(`cannot read the X25519 ${what} key ${path} (${(e as NodeJS.ErrnoException).code ?? `not a PEM ${what} key`})`, { suggestions: [fix] });
  }
  if (key.asymmetricKeyType !== 'x25519') throw new UsageError(`the ${what} key ${path} is ${key.asymmetricKeyType}, not x25519`, { suggestions: [fix] });
  return key;
}

export const readRecipient = (path: string) => readPem(path, 'public', '--recipient');
export const readIdentity = (path: string) => readPem(path, 'private', '--identity');

/** Makes an X25519 pair in `dir`: identity.key (PKCS#8 PEM, mode 0600) and recipient.pub (SPKI PEM). */
export function generateX25519Keys(dir: string, force: boolean): { privateKey: string; publicKey: string; keyid: string } {
  const privateKey = join(dir, IDENTITY_FILE);
  const publicKey = join(dir, RECIPIENT_FILE);
  if (!force && (existsSync(privateKey) || existsSync(publicKey)))
    throw new UsageError(`an X25519 key pair already exists in ${dir}`, {
      suggestions: ['Pass --force to replace it (what was sealed to the old public key then opens only with the old identity.key), or choose another --dir.'],
    });
  mkdirWithMode(dir, 0o700);
  const pair = nodeCrypto().generateKeyPairSync('x25519');
  writeFileAtomic(privateKey, pair.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, 0o600);
  writeFileAtomic(publicKey, pair.publicKey.export({ format: 'pem', type: 'spki' }) as string, 0o644);
  return { privateKey, publicKey, keyid: recipientFingerprint(pair.publicKey) };
}
