import * as tf from '@tensorflow/tfjs';
import type { Split } from '../data/dataset.js';
import { lossSum } from './loss.js';

const PIXELS = 784;
const SCALE = Float32Array.from({ length: 256 }, (_, i) => i / 255);

/** Images (scaled to [0,1]) and one-hot labels of the given indices: the model's input and target. */
export function batchTensors(data: Split, idx: ArrayLike<number>): [tf.Tensor4D, tf.Tensor2D] {
  const n = idx.length;
  const x = new Float32Array(n * PIXELS);
  const y = new Float32Array(n * 10);
  for (let i = 0; i < n; i++) {
    const src = idx[i] * PIXELS;
    const dst = i * PIXELS;
    for (let p = 0; p < PIXELS; p++) x[dst + p] = SCALE[data.images[src + p]];
    y[i * 10 + data.labels[idx[i]]] = 1;
  }
  return [tf.tensor4d(x, [n, 28, 28, 1]), tf.tensor2d(y, [n, 10])];
}

/** The number of images whose most probable class is the labelled one. */
export function correctCount(probs: tf.Tensor, onehot: tf.Tensor): tf.Scalar {
  return tf.sum(tf.cast(tf.equal(tf.argMax(probs, -1), tf.argMax(onehot, -1)), 'float32'));
}

/** Sum of categorical cross-entropy over the batch (the test loss, whatever loss trained), and the number of correct predictions. */
export function lossAndCorrect(probs: tf.Tensor, onehot: tf.Tensor): [tf.Scalar, tf.Scalar] {
  return [lossSum({ loss: 'categorical_crossentropy' }, probs, onehot), correctCount(probs, onehot)];
}
