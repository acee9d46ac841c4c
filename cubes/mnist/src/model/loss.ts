import * as tf from '@tensorflow/tfjs';

/** Clipping of the softmax output before a log, as Keras does (epsilon 1e-7). */
const EPS = 1e-7;

/** The default focusing parameter of loss: focal (Lin et al. 2017). */
export const FOCAL_GAMMA = 2;

/** The loss keys of train_config. */
export interface LossChoice {
  loss: 'categorical_crossentropy' | 'mse' | 'focal';
  focal_gamma?: number;
}

/**
 * Sum over the batch of the loss of softmax outputs `probs` [n,10] against one-hot targets:
 * categorical_crossentropy -Σ y log p; mse the mean over classes of (y - p)²; focal -Σ y (1 - p)^γ log p.
 */
export function lossSum(cfg: LossChoice, probs: tf.Tensor, onehot: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    switch (cfg.loss) {
      case 'categorical_crossentropy':
        return tf.neg(tf.sum(tf.mul(onehot, tf.log(tf.clipByValue(probs, EPS, 1 - EPS)))));
      case 'mse':
        return tf.div(tf.sum(tf.square(tf.sub(onehot, probs))), probs.shape[probs.shape.length - 1]!);
      case 'focal': {
        const p = tf.clipByValue(probs, EPS, 1 - EPS);
        const weight = tf.pow(tf.sub(1, p), cfg.focal_gamma ?? FOCAL_GAMMA);
        return tf.neg(tf.sum(tf.mul(tf.mul(onehot, weight), tf.log(p))));
      }
    }
  }) as tf.Scalar;
}
