import type { KeyObject } from 'node:crypto';
import { nodeCrypto } from './crypto.js';
import { keyId } from './keys.js';

/** DSSE v1 envelope (https://github.com/secure-systems-lab/dsse/blob/master/envelope.md). */
export interface Envelope {
  payloadType: string;
  payload: string;
  signatures: { keyid: string; sig: string }[];
}

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** Pre-Authentication Encoding: "DSSEv1" SP len(type) SP type SP len(body) SP body (lengths in bytes). */
export function pae(payloadType: string, body: Buffer): Buffer {
  const t = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${t.length} `), t, Buffer.from(` ${body.length} `), body]);
}

/** Signs `body` with an Ed25519 private key. */
export function signEnvelope(body: Buffer, key: KeyObject, payloadType = IN_TOTO_PAYLOAD_TYPE): Envelope {
  const sig = nodeCrypto().sign(null, pae(payloadType, body), key);
  return { payloadType, payload: body.toString('base64'), signatures: [{ keyid: keyId(key), sig: sig.toString('base64') }] };
}

/** Problems with an envelope under `key` (empty: a signature by that key verifies). */
export function checkEnvelope(env: Envelope, key: KeyObject): string[] {
  if (!env || typeof env.payload !== 'string' || typeof env.payloadType !== 'string' || !Array.isArray(env.signatures))
    return ['the envelope is not a DSSE envelope (payloadType, payload, signatures)'];
  if (env.signatures.length === 0) return ['the envelope holds no signature'];
  const id = keyId(key);
  const body = Buffer.from(env.payload, 'base64');
  const mine = env.signatures.filter((s) => s?.keyid === id && typeof s.sig === 'string');
  if (mine.length === 0) return [`signature: made by key ${env.signatures.map((s) => String(s?.keyid).slice(0, 16)).join(', ')}, but the trusted public key is ${id.slice(0, 16)}`];
  for (const s of mine) {
    if (nodeCrypto().verify(null, pae(env.payloadType, body), key, Buffer.from(s.sig, 'base64'))) return [];
  }
  return ['signature: does not verify with the trusted public key (the statement or the signature was altered)'];
}
