import * as tf from '@tensorflow/tfjs';
import { CubeError } from '../errors.js';

/**
 * The logits of a model that ends in a Dense layer with softmax (every architecture of this cube): the layers before
 * it, then that layer's kernel and bias without the activation. Gradients of the cross-entropy taken from the logits
 * do not vanish on confidently classified images, as they do through the clipped log of the softmax output.
 */
export function logitsOf(model: tf.LayersModel): (x: tf.Tensor) => tf.Tensor2D {
  // A loaded Sequential may list its InputLayer first: it passes its input on unchanged.
  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  const last = layers[layers.length - 1];
  const cfg = last?.getConfig() as { activation?: string } | undefined;
  if (!last || last.getClassName() !== 'Dense' || cfg?.activation !== 'softmax') {
    throw new CubeError({
      place: `model ${model.name}`,
      problem: 'has no logits to attack',
      found: last ? `last layer ${last.getClassName()} (${cfg?.activation ?? 'no activation'})` : 'no layers',
      expected: 'a model ending in a Dense layer with softmax',
      fix: 'attack a model trained by this cube',
    });
  }
  const [kernel, bias] = last.getWeights();
  return (x) =>
    tf.tidy(() => {
      let h = x;
      for (const layer of layers.slice(0, -1)) h = layer.apply(h) as tf.Tensor;
      const z = tf.matMul(h as tf.Tensor2D, kernel as tf.Tensor2D);
      return (bias ? tf.add(z, bias) : z) as tf.Tensor2D;
    });
}

/** ∇ₓ of the summed cross-entropy Σᵢ -log softmax(logits(xᵢ))[yᵢ] (one-hot targets), the loss the models trained on. */
export function lossGradient(logits: (x: tf.Tensor) => tf.Tensor2D, x: tf.Tensor, onehot: tf.Tensor2D): tf.Tensor {
  return tf.tidy(() => tf.grad((xi: tf.Tensor) => tf.neg(tf.sum(tf.mul(onehot, tf.logSoftmax(logits(xi))))))(x));
}
