import { epsilonFromRdp } from './epsilon.js';
import { RDP_ORDERS, rdpSampledGaussian } from './rdp.js';

/** The privacy keys of train_config (schema: `privacy`). */
export interface PrivacyConfig {
  l2_norm_clip: number;
  noise_multiplier: number;
  delta: number;
}

/** ε (and the RDP order that gives it) after `steps` steps of DP-SGD with Poisson sampling rate q and noise multiplier σ. */
export function dpSgdEpsilon(q: number, sigma: number, steps: number, delta: number, orders: readonly number[] = RDP_ORDERS): { epsilon: number; order: number } {
  const one = rdpSampledGaussian(q, sigma, orders);
  return epsilonFromRdp(
    orders,
    one.map((r) => r * steps),
    delta,
  );
}

/** The accounting of a DP-SGD run over `trainCount` examples: the sampling rate, the steps of an epoch, ε after e epochs. */
export interface DpAccount {
  sampling_rate: number;
  steps_per_epoch: number;
  epsilonAfter(epochs: number): { epsilon: number; order: number; steps: number };
}

/** Batches are Poisson samples with rate batch/N, ⌈N/batch⌉ of them an epoch; RDP composes linearly over the steps. */
export function dpSgdAccount(privacy: PrivacyConfig, trainCount: number, batchSize: number): DpAccount {
  const q = Math.min(1, batchSize / trainCount);
  const stepsPerEpoch = Math.ceil(trainCount / batchSize);
  const one = rdpSampledGaussian(q, privacy.noise_multiplier);
  return {
    sampling_rate: q,
    steps_per_epoch: stepsPerEpoch,
    epsilonAfter(epochs) {
      const steps = epochs * stepsPerEpoch;
      return {
        ...epsilonFromRdp(
          RDP_ORDERS,
          one.map((r) => r * steps),
          privacy.delta,
        ),
        steps,
      };
    },
  };
}
