import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CubeError } from '../errors.js';
import { splitFromNpz, type Split } from './dataset.js';
import { writeNpz } from './npz.js';

/** What the attack task writes beside the adversarial sets (`<adversarial_dir>/manifest.json`). */
export interface AdversarialManifest {
  format: typeof MANIFEST_FORMAT;
  attack: Record<string, unknown>;
  /** The first `images` test images of `data_source` were attacked (every set holds them, in order). */
  images: number;
  data_source: string;
  sets: AdversarialSet[];
}

export interface AdversarialSet {
  /** The source model's name (its parameter model_<name>). */
  source: string;
  model_id: string | null;
  /** sha256 of the source model's model.json and weights.bin. */
  model_sha256: Record<string, string>;
  attack: 'fgm' | 'pgd';
  eps: number;
  /** The largest change stored (whole grey levels within eps, divided by 255). */
  effective_eps: number;
  /** Relative to the manifest's directory. */
  file: string;
  sha256: string;
}

export const MANIFEST_FORMAT = 'mnist-adversarial/v1';
export const MANIFEST_FILE = 'manifest.json';

export const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** An adversarial set as a .npz in the MNIST layout's test arrays (x_test uint8 N×28×28, y_test). */
export function adversarialNpz(images: Uint8Array, labels: Uint8Array): Buffer {
  return writeNpz(
    [
      ['x_test', images, [labels.length, 28, 28]],
      ['y_test', labels, [labels.length]],
    ],
    true,
  );
}

/** Reads `<dir>/manifest.json`; fails naming the file when it is not the attack task's. */
export function readManifest(dir: string): AdversarialManifest {
  const file = join(dir, MANIFEST_FILE);
  let m: AdversarialManifest;
  try {
    m = JSON.parse(readFileSync(file, 'utf8')) as AdversarialManifest;
  } catch (err) {
    throw new CubeError({
      place: file,
      problem: `cannot read the adversarial sets' manifest (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      fix: 'run the attack task with this adversarial_dir first',
    });
  }
  if (m?.format !== MANIFEST_FORMAT || !Array.isArray(m.sets)) {
    throw new CubeError({ place: file, problem: 'not an adversarial sets manifest', found: `format ${String(m?.format)}`, expected: MANIFEST_FORMAT, fix: 'run the attack task again' });
  }
  return m;
}

/** One set of the manifest, checked against its recorded sha256 (fail closed: a changed file is an error). */
export function readAdversarialSet(dir: string, set: AdversarialSet): Split {
  const file = join(dir, set.file);
  const bytes = readFileSync(file);
  const digest = sha256(bytes);
  if (digest !== set.sha256) {
    throw new CubeError({
      place: file,
      problem: 'changed since the attack wrote it',
      found: `sha256 ${digest}`,
      expected: `sha256 ${set.sha256} (${MANIFEST_FILE})`,
      fix: 'run the attack task again',
    });
  }
  return splitFromNpz(bytes, file, 'x_test', 'y_test');
}

/** The first `n` images of a split (a view, no copy). */
export function firstImages(s: Split, n: number): Split {
  const count = Math.min(n, s.count);
  return { images: s.images.subarray(0, count * 784), labels: s.labels.subarray(0, count), count };
}
