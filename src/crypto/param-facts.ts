import { closeSync, openSync, readSync } from 'node:fs';
import type { ParamEncryption, ResolvedParam } from '../params/resolve.js';
import { headerBytes, parseHeader, type KeyMode } from './format.js';
import { readRecipient, recipientFingerprint } from './keys.js';

/** What a run record says of an encrypted parameter: never the key, never a digest of the plaintext. */
export interface EncryptionFacts {
  /** What the ciphertext holds (the parameter's type). */
  holds: 'file' | 'directory';
  mode: KeyMode;
  /** The key's (or the recipient's) fingerprint, as the ciphertext's header carries it. */
  key_fingerprint: string;
  key_source: ParamEncryption['kind'];
}

/**
 * An encrypted input's facts from its ciphertext's header (no key needed); an encrypted output's from its recipient's
 * public key (what its header will carry). Undefined for a plain parameter or an input whose header cannot be read
 * (its decryption, when the task starts, says why).
 */
export function encryptionFacts(p: ResolvedParam): EncryptionFacts | undefined {
  const e = p.encryption;
  if (!e) return undefined;
  if (e.kind === 'recipient') return { holds: p.type, mode: 'x25519', key_fingerprint: recipientFingerprint(readRecipient(e.path)), key_source: e.kind };
  try {
    const fd = openSync(p.hostPath, 'r');
    try {
      const b = Buffer.alloc(headerBytes('x25519'));
      const n = readSync(fd, b, 0, b.length, 0);
      const h = parseHeader(b.subarray(0, n));
      return h ? { holds: p.type, mode: h.header.mode, key_fingerprint: h.header.fingerprint, key_source: e.kind } : undefined;
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}
