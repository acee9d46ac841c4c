import { dpSgdAccount } from '../privacy/accountant.js';
import { trainCount } from './loop.js';
import type { TrainConfig } from './schema.js';

/** What a DP-SGD run's model records (model.json's userDefinedMetadata.privacy, training.json): the guarantee and how it was counted. */
export interface PrivacySummary {
  mechanism: 'dp-sgd';
  sampling: 'poisson';
  accountant: string;
  l2_norm_clip: number;
  noise_multiplier: number;
  delta: number;
  /** ε for delta after all train_epochs. */
  epsilon: number;
  /** The RDP order that gives epsilon. */
  rdp_order: number;
  sampling_rate: number;
  steps: number;
  /** N: the examples trained on (the validation split excluded); the guarantee is about one of these. */
  training_examples: number;
}

/** The privacy guarantee of training `cfg` (with privacy set) on `count` images. */
export function privacySummary(cfg: TrainConfig, count: number): PrivacySummary {
  const p = cfg.privacy!;
  const n = trainCount(cfg, count);
  const account = dpSgdAccount(p, n, cfg.batch_size);
  const e = account.epsilonAfter(cfg.train_epochs);
  return {
    mechanism: 'dp-sgd',
    sampling: 'poisson',
    accountant: 'RDP of the sampled Gaussian mechanism (Mironov et al. 2019), conversion of Balle et al. 2020',
    l2_norm_clip: p.l2_norm_clip,
    noise_multiplier: p.noise_multiplier,
    delta: p.delta,
    epsilon: e.epsilon,
    rdp_order: e.order,
    sampling_rate: account.sampling_rate,
    steps: e.steps,
    training_examples: n,
  };
}
