import * as tf from '@tensorflow/tfjs';
import { lossGradient } from '../model/logits.js';

/** Pixel range of the models' input (batchTensors scales the bytes 0-255 to [0, 1]). */
export const PIXEL_MIN = 0;
export const PIXEL_MAX = 1;

type Logits = (x: tf.Tensor) => tf.Tensor2D;

/** sign(∇ₓ loss) of a batch: the direction of every FGM step, whatever eps (so one gradient serves every eps). */
export function gradientSign(logits: Logits, x: tf.Tensor, onehot: tf.Tensor2D): tf.Tensor {
  return tf.tidy(() => tf.sign(lossGradient(logits, x, onehot)));
}

/** FGM from a gradient sign: clip(x + eps * sign, 0, 1); stays within eps of x (L∞). */
export function fgmFromSign(x: tf.Tensor, sign: tf.Tensor, eps: number): tf.Tensor {
  return tf.tidy(() => tf.clipByValue(tf.add(x, tf.mul(sign, eps)), PIXEL_MIN, PIXEL_MAX));
}

/** The fast gradient method (Goodfellow et al. 2015), untargeted, L∞: one step of size eps up the loss. */
export function fgm(logits: Logits, x: tf.Tensor, onehot: tf.Tensor2D, eps: number): tf.Tensor {
  return tf.tidy(() => fgmFromSign(x, gradientSign(logits, x, onehot), eps));
}

export interface PgdOptions {
  eps: number;
  steps: number;
  stepSize: number;
  /** Start from a uniform random point of the eps ball, drawn with this seed; undefined: from x. */
  randomStartSeed?: number;
}

/** Projection onto the eps ball around x (L∞) and the pixel range. */
function project(x: tf.Tensor, xAdv: tf.Tensor, eps: number): tf.Tensor {
  return tf.tidy(() => tf.clipByValue(tf.minimum(tf.maximum(xAdv, tf.sub(x, eps)), tf.add(x, eps)), PIXEL_MIN, PIXEL_MAX));
}

/** Projected gradient descent (Madry et al. 2018), untargeted, L∞: `steps` signed steps, each projected back. */
export function pgd(logits: Logits, x: tf.Tensor, onehot: tf.Tensor2D, o: PgdOptions): tf.Tensor {
  let cur = o.randomStartSeed === undefined ? tf.clone(x) : tf.tidy(() => project(x, tf.add(x, tf.randomUniform(x.shape, -o.eps, o.eps, 'float32', o.randomStartSeed)), o.eps));
  for (let s = 0; s < o.steps; s++) {
    const next = tf.tidy(() => project(x, tf.add(cur, tf.mul(gradientSign(logits, cur, onehot), o.stepSize)), o.eps));
    cur.dispose();
    cur = next;
  }
  return cur;
}

/** The largest whole number of grey levels (1/255) within eps; the tolerance absorbs eps like 0.2 = 51/255 in floating point. */
export function greyLevels(eps: number): number {
  return Math.floor(eps * 255 + 1e-6);
}

/**
 * Adversarial images as bytes like the data set: each pixel's change rounded to whole grey levels and cut to at most
 * {@link greyLevels}(eps), so the stored image stays within eps of the clean one (eps 0: the clean bytes exactly).
 */
export function toBytes(clean: Uint8Array, adv: Float32Array, eps: number): Uint8Array {
  const k = greyLevels(eps);
  const out = new Uint8Array(clean.length);
  for (let i = 0; i < clean.length; i++) {
    const d = Math.max(-k, Math.min(k, Math.round(adv[i] * 255 - clean[i])));
    out[i] = Math.max(0, Math.min(255, clean[i] + d));
  }
  return out;
}
