import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, tempDir } from './cli.js';

/** The README's quick command: the quick model misses the cube's accuracy gates, so it lowers them. */
export const QUICK_GATES = ['-Ptasks.evaluate.gates.test_accuracy.min=0.85', '-Ptasks.evaluate.gates.min_class_accuracy.min=0.7'];

/** A temp workspace holding the MNIST cube's bundled data and the given configs (by default the quick training one). */
export function mnistWorkspace(prefix: string, configs: readonly string[] = ['train-quick.yaml']): { dir: string; cleanup: () => void } {
  const ws = tempDir(prefix);
  for (const f of ['data.yaml', 'mnist-offline.npz', ...configs]) copyFileSync(join(REPO, 'cubes', 'mnist', 'workspace', f), join(ws.dir, f));
  return ws;
}
