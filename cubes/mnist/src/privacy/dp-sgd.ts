import * as tf from '@tensorflow/tfjs';
import { correctCount } from '../model/batch.js';
import { type LossChoice, lossSum } from '../model/loss.js';
import { standardNormals } from './sampling.js';

/** `grads` scaled by min(1, C/‖grads‖₂), the norm taken over all of them together, and that norm. */
export function clipByGlobalNorm(grads: tf.Tensor[], clip: number): { clipped: tf.Tensor[]; norm: number } {
  return tf.tidy(() => {
    const norm = Math.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g)))).dataSync()[0]);
    const factor = norm > clip ? clip / norm : 1;
    const clipped = grads.map((g) => (factor === 1 ? g.clone() : tf.mul(g, factor)));
    return { clipped, norm };
  });
}

/**
 * The sum over the examples of x of each example's gradient (of its loss w.r.t. `vars`) clipped to L2 norm `clip`;
 * one backward pass per example (simple, and right for any layer). Also the examples' loss sum and correct count.
 */
export function clippedGradientSum(model: tf.LayersModel, loss: LossChoice, x: tf.Tensor, y: tf.Tensor, vars: tf.Variable[], clip: number): { sums: tf.Tensor[]; loss: number; correct: number } {
  let sums = vars.map((v) => tf.zerosLike(v) as tf.Tensor);
  let lossTotal = 0;
  let correct = 0;
  for (let i = 0; i < x.shape[0]; i++) {
    const next = tf.tidy(() => {
      const xi = tf.slice(x, [i], [1]);
      const yi = tf.slice(y, [i], [1]);
      let k: tf.Scalar | undefined;
      const { value, grads } = tf.variableGrads(() => {
        const p = model.apply(xi, { training: true }) as tf.Tensor;
        k = tf.keep(correctCount(p, yi)); // variableGrads disposes everything f made except the loss
        return lossSum(loss, p, yi);
      }, vars);
      lossTotal += value.dataSync()[0];
      correct += k!.dataSync()[0];
      tf.dispose(k!);
      const { clipped } = clipByGlobalNorm(
        vars.map((v) => grads[v.name]),
        clip,
      );
      return clipped.map((g, j) => tf.add(sums[j], g));
    });
    tf.dispose(sums);
    sums = next;
  }
  return { sums, loss: lossTotal, correct };
}

/**
 * The DP-SGD update direction from the clipped sum: (Σ clipped + N(0, σ²C²)) / B, with B the expected batch size
 * (dividing by the sampled size would leak it). `rand` draws the noise; the same seed on every replica gives the same noise.
 */
export function noisyAverage(sum: Float32Array, clip: number, noiseMultiplier: number, expectedBatch: number, rand: () => number): Float32Array {
  const std = noiseMultiplier * clip;
  const noise = std > 0 ? standardNormals(sum.length, rand) : undefined;
  const out = new Float32Array(sum.length);
  for (let i = 0; i < sum.length; i++) out[i] = (sum[i] + (noise ? std * noise[i] : 0)) / expectedBatch;
  return out;
}
