import * as tf from '@tensorflow/tfjs';
import type { Split } from '../data/dataset.js';
import { batchTensors } from '../model/batch.js';
import type { PrivacyConfig } from '../privacy/accountant.js';
import { clippedGradientSum, noisyAverage } from '../privacy/dp-sgd.js';
import type { Comm } from './comm.js';
import type { TrainConfig } from './schema.js';

/**
 * One DP-SGD step: this replica's examples `mine` give their clipped gradient sum, the replicas add theirs, and every
 * replica adds the same noise (`noiseRand` seeded alike on all) and applies the same average with the optimizer.
 * Returns [loss sum, correct count] of the batch.
 */
export function dpStep(
  cfg: Pick<TrainConfig, 'loss' | 'focal_gamma' | 'batch_size'> & { privacy: PrivacyConfig },
  model: tf.LayersModel,
  vars: tf.Variable[],
  optimizer: tf.Optimizer,
  data: Split,
  mine: Uint32Array,
  comm: Comm,
  noiseRand: () => number,
): Float32Array {
  const sizes = vars.map((v) => v.size);
  const nParams = sizes.reduce((a, b) => a + b, 0);
  const flat = new Float32Array(nParams + 2);
  if (mine.length > 0) {
    tf.tidy(() => {
      const [x, y] = batchTensors(data, mine);
      const r = clippedGradientSum(model, cfg, x, y, vars, cfg.privacy.l2_norm_clip);
      let off = 0;
      r.sums.forEach((g, i) => {
        flat.set(g.dataSync(), off);
        off += sizes[i];
      });
      flat[nParams] = r.loss;
      flat[nParams + 1] = r.correct;
    });
  }
  const total = comm.allReduce(flat);
  const update = noisyAverage(total.subarray(0, nParams), cfg.privacy.l2_norm_clip, cfg.privacy.noise_multiplier, cfg.batch_size, noiseRand);
  tf.tidy(() => {
    const grads: Record<string, tf.Tensor> = {};
    let off = 0;
    vars.forEach((v, i) => {
      grads[v.name] = tf.tensor(update.subarray(off, off + sizes[i]), v.shape);
      off += sizes[i];
    });
    optimizer.applyGradients(grads);
  });
  return total.slice(nParams);
}
