import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CubeError } from '../errors.js';
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, parseIdx } from './idx.js';
import type { NdArray } from './npy.js';
import { readNpz } from './npz.js';

/** One split: `count` images of 28x28 bytes (0-255) and their labels 0-9. */
export interface Split {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}
export interface Dataset {
  train: Split;
  test: Split;
  /** Where it was read from (for logs). */
  source: string;
}

/** The four classic IDX file names, by role. */
export const IDX_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

const NPZ_KEYS = ['x_train', 'y_train', 'x_test', 'y_test'] as const;

function toSplit(images: NdArray | { shape: number[]; data: Uint8Array }, labels: NdArray | { shape: number[]; data: Uint8Array }, where: string): Split {
  const [n, h, w] = images.shape;
  if (images.shape.length !== 3 || h !== 28 || w !== 28) {
    throw new CubeError({ place: where, problem: 'images have the wrong shape', found: `(${images.shape.join(', ')})`, expected: '(N, 28, 28)' });
  }
  if (!(images.data instanceof Uint8Array)) {
    throw new CubeError({ place: where, problem: 'images have the wrong dtype', expected: 'uint8 pixels 0-255', fix: 'store images as uint8' });
  }
  if (labels.shape.length !== 1 || labels.shape[0] !== n) {
    throw new CubeError({ place: where, problem: 'labels do not match images', found: `labels (${labels.shape.join(', ')})`, expected: `(${n},)` });
  }
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = Number(labels.data[i]);
    if (!Number.isInteger(v) || v < 0 || v > 9) {
      throw new CubeError({ place: where, problem: `label ${i} is out of range`, found: String(v), expected: 'an integer 0-9' });
    }
    out[i] = v;
  }
  return { images: images.data, labels: out, count: n };
}

/** One split of a .npz in memory: the arrays `images` and `labels` (e.g. x_test and y_test). */
export function splitFromNpz(buf: Uint8Array, file: string, images: string, labels: string): Split {
  const arrays = readNpz(buf, file);
  const missing = [images, labels].filter((k) => !arrays.has(k));
  if (missing.length) {
    throw new CubeError({ place: file, problem: `missing arrays ${missing.join(', ')}`, found: `arrays ${[...arrays.keys()].join(', ') || 'none'}`, expected: `${images}, ${labels}` });
  }
  return toSplit(arrays.get(images)!, arrays.get(labels)!, `${file}:${images}/${labels}`);
}

/** Parses a .npz in memory into train/test splits (keys x_train, y_train, x_test, y_test as Keras writes them). */
export function datasetFromNpz(buf: Uint8Array, file: string): Dataset {
  const arrays = readNpz(buf, file);
  const missing = NPZ_KEYS.filter((k) => !arrays.has(k));
  if (missing.length) {
    throw new CubeError({
      place: file,
      problem: `missing arrays ${missing.join(', ')}`,
      found: `arrays ${[...arrays.keys()].join(', ') || 'none'}`,
      expected: NPZ_KEYS.join(', '),
      fix: 'use the Keras mnist.npz layout',
    });
  }
  return {
    train: toSplit(arrays.get('x_train')!, arrays.get('y_train')!, `${file}:x_train/y_train`),
    test: toSplit(arrays.get('x_test')!, arrays.get('y_test')!, `${file}:x_test/y_test`),
    source: file,
  };
}

function findIdx(dir: string, base: string): string | undefined {
  for (const name of [base, `${base}.gz`]) if (existsSync(join(dir, name))) return join(dir, name);
  return undefined;
}

/** Checks that downloaded bytes are what `name` promises (npz layout or IDX magic); throws a CubeError if not. */
export function validateDataFile(name: string, bytes: Uint8Array, where: string): void {
  if (name.endsWith('.npz')) {
    datasetFromNpz(bytes, where);
    return;
  }
  const magic = name.includes('labels') ? IDX_LABELS_MAGIC : name.includes('images') ? IDX_IMAGES_MAGIC : undefined;
  const arr = parseIdx(bytes, where, magic);
  if (magic === IDX_IMAGES_MAGIC && (arr.shape[1] !== 28 || arr.shape[2] !== 28)) {
    throw new CubeError({ place: where, problem: 'images have the wrong shape', found: arr.shape.join('x'), expected: 'Nx28x28' });
  }
}

/** Loads the data set that the download task left in `dir`: one `*.npz`, or the four IDX files (gzip'd or not). */
export function loadDataset(dir: string): Dataset {
  if (!existsSync(dir)) {
    throw new CubeError({ place: dir, problem: 'data directory does not exist', fix: 'run the download task first' });
  }
  const npz = readdirSync(dir)
    .filter((f) => f.endsWith('.npz') && !f.startsWith('.'))
    .sort();
  if (npz.length > 0) return datasetFromNpz(readFileSync(join(dir, npz[0])), join(dir, npz[0]));
  const paths = Object.fromEntries(Object.entries(IDX_FILES).map(([k, base]) => [k, findIdx(dir, base)])) as Record<keyof typeof IDX_FILES, string | undefined>;
  const absent = Object.entries(paths)
    .filter(([, p]) => !p)
    .map(([k]) => IDX_FILES[k as keyof typeof IDX_FILES]);
  if (absent.length) {
    throw new CubeError({
      place: dir,
      problem: 'no data set found',
      found: readdirSync(dir).join(', ') || 'an empty directory',
      expected: `a *.npz file or the four IDX files (missing ${absent.join(', ')})`,
      fix: 'run the download task with this data_dir',
    });
  }
  const read = (p: string, magic: number) => parseIdx(readFileSync(p), p, magic);
  return {
    train: toSplit(read(paths.trainImages!, IDX_IMAGES_MAGIC), read(paths.trainLabels!, IDX_LABELS_MAGIC), paths.trainImages!),
    test: toSplit(read(paths.testImages!, IDX_IMAGES_MAGIC), read(paths.testLabels!, IDX_LABELS_MAGIC), paths.testImages!),
    source: dir,
  };
}
