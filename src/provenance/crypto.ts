import { createRequire } from 'node:module';
import type * as NodeCrypto from 'node:crypto';

let loaded: typeof NodeCrypto | undefined;

/**
 * node:crypto, loaded on first use. Loading it takes ~4 ms, and `mlcube run` needs it only for the run record and
 * its signing key: commands that write no record do not pay for it.
 */
export function nodeCrypto(): typeof NodeCrypto {
  return (loaded ??= createRequire(import.meta.url)('node:crypto') as typeof NodeCrypto);
}
