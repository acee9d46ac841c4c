import { nodeCrypto } from './crypto.js';

/**
 * RFC 8785 (JSON Canonicalization Scheme): object keys sorted by UTF-16 code units, no whitespace, numbers in
 * ECMAScript Number-to-String form, strings escaped as JSON.stringify does (which is what JCS prescribes).
 * Non-finite numbers, undefined, functions and lone surrogates cannot be represented and throw.
 */
export function canonicalize(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonical JSON cannot hold the number ${value}`);
      return Object.is(value, -0) ? '0' : String(value);
    case 'string':
      if (/\p{Cs}/u.test(value)) throw new TypeError('canonical JSON cannot hold a lone surrogate');
      return JSON.stringify(value);
    case 'object': {
      const v = value as { toJSON?: () => unknown };
      if (typeof v.toJSON === 'function') return canonicalize(v.toJSON());
      if (Array.isArray(value)) return `[${value.map((x) => canonicalize(x === undefined ? null : x)).join(',')}]`;
      const keys = Object.keys(value as object)
        .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
        .sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalize((value as Record<string, unknown>)[k])}`).join(',')}}`;
    }
    default:
      throw new TypeError(`canonical JSON cannot hold a ${typeof value}`);
  }
}

/** sha256 (hex) of the canonical form of a JSON value: the digest every JSON document is hashed by here. */
export function canonicalSha256(value: unknown): string {
  return nodeCrypto().createHash('sha256').update(canonicalize(value), 'utf8').digest('hex');
}
