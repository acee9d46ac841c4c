import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/**
 * NODE_EXTRA_CA_CERTS that this process started without. The `mlcube` bin (src/cli/mlcube.sh) starts Node.js
 * without it, to spare the 60-80 ms Node.js 20 spends parsing the file at each start, and hands it over in
 * MLCUBE_NODE_EXTRA_CA_CERTS; the launcher puts it back into the environment at once, for what mlcube starts.
 * Our own TLS clients add those CAs explicitly (`trustedCaWithExtra`), so they trust what Node.js would have.
 */
const NOT_LOADED = Symbol.for('mlcube.extraCaCertsNotLoaded');
const MOVED = 'MLCUBE_NODE_EXTRA_CA_CERTS';

/** At start-up, before anything reads the environment: restores NODE_EXTRA_CA_CERTS moved aside by the bin. */
export function restoreExtraCaCerts(env: NodeJS.ProcessEnv = process.env): void {
  const file = env[MOVED];
  if (file === undefined) return;
  delete env[MOVED];
  env.NODE_EXTRA_CA_CERTS = file;
  (globalThis as Record<symbol, unknown>)[NOT_LOADED] = file;
}

/**
 * The `ca` option that trusts Node's bundled roots plus NODE_EXTRA_CA_CERTS, for a TLS client that would
 * otherwise use the defaults; undefined when Node.js loaded the variable itself (the defaults already do).
 */
export function trustedCaWithExtra(): string[] | undefined {
  const file = (globalThis as Record<symbol, unknown>)[NOT_LOADED];
  if (typeof file !== 'string' || file === '') return undefined;
  // node:tls costs ~3 ms to load: only here, on the https path.
  const { rootCertificates } = createRequire(import.meta.url)('node:tls') as typeof import('node:tls');
  try {
    return [...rootCertificates, readFileSync(file, 'utf8')];
  } catch (e) {
    // What Node.js does with an unreadable file: warn, and go on with its own roots.
    process.emitWarning(`Ignoring extra certs from \`${file}\`, load failed: ${(e as Error).message}`);
    return undefined;
  }
}
