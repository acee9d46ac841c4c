import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { buildOfflineSet } from './offline-set.js';

// Usage: node dist/tools/make-offline-set.js <out.npz>  (prints the sha256 to pin in data.yaml)
const out = process.argv[2];
if (!out) {
  process.stderr.write('usage: node dist/tools/make-offline-set.js <out.npz>\n');
  process.exit(2);
}
const { npz, trainCount, testCount } = buildOfflineSet();
writeFileSync(out, npz);
process.stdout.write(`${createHash('sha256').update(npz).digest('hex')}  ${out} (${npz.length} bytes, ${trainCount} train, ${testCount} test)\n`);
