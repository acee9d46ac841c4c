import type { ModelId, ModelName } from '../model/architectures.js';
import { LAYER_MODEL_SCHEMA, type LayerModel } from '../model/layers-schema.js';
import type { PrivacyConfig } from '../privacy/accountant.js';

/** JSON schema of train_config (copied verbatim to schemas/mnist-train-config.schema.json; a test keeps them equal). */
export const TRAIN_CONFIG_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://mlcube-ts.local/schemas/mnist-train-config.schema.json',
  title: 'train_config of the mnist cube (train.yaml)',
  type: 'object',
  additionalProperties: false,
  properties: {
    model: {
      default: 'cnn',
      description:
        'mlp: the MLCube example (Flatten, Dense 512, Dropout 0.2, Dense 10); cnn: Conv32-Pool-Conv64-Pool-Dense128; lenet5; shallow_net: the shallow network of the Dioptra MNIST demo (Flatten, Dense 32 sigmoid, Dense 10). A model id (mnist_<architecture>_v<version>) pins the version; a bare name means its current version. Or a layer list {name, layers}. The id is recorded with the model.',
      // if/then/else rather than oneOf: a layer list's errors are then not mixed with "not one of the names".
      if: { type: 'string' },
      then: { enum: ['mlp', 'cnn', 'lenet5', 'shallow_net', 'mnist_mlp_v1', 'mnist_cnn_v1', 'mnist_lenet5_v1', 'mnist_shallow_net_v1'] },
      else: LAYER_MODEL_SCHEMA,
    },
    loss: {
      enum: ['categorical_crossentropy', 'mse', 'focal'],
      default: 'categorical_crossentropy',
      description: 'mse: mean over the 10 classes of (one-hot - softmax)^2; focal: -(1-p)^gamma log p of the true class (Lin et al. 2017), gamma from focal_gamma.',
    },
    focal_gamma: { type: 'number', minimum: 0, maximum: 10, description: 'Focusing parameter of loss: focal (default 2; 0 is cross-entropy). Only with loss: focal.' },
    optimizer: { enum: ['adam', 'sgd', 'rmsprop'], default: 'adam' },
    learning_rate: { type: 'number', exclusiveMinimum: 0, maximum: 10, default: 0.001, description: 'The learning rate of epoch 1; lr_schedule changes it from epoch to epoch.' },
    lr_schedule: {
      description:
        'Learning rate per epoch e (1-based): constant; step: learning_rate * factor^floor((e-1)/every_epochs); exponential: learning_rate * factor^(e-1); cyclic: triangular between learning_rate (epochs 1, 1+period, ...) and min_learning_rate (half a period later).',
      type: 'object',
      default: { type: 'constant' },
      required: ['type'],
      discriminator: { propertyName: 'type' },
      oneOf: [
        { properties: { type: { const: 'constant' } }, additionalProperties: false },
        {
          properties: { type: { const: 'step' }, every_epochs: { type: 'integer', minimum: 1, maximum: 1000 }, factor: { type: 'number', exclusiveMinimum: 0, maximum: 1 } },
          required: ['every_epochs', 'factor'],
          additionalProperties: false,
        },
        { properties: { type: { const: 'exponential' }, factor: { type: 'number', exclusiveMinimum: 0, maximum: 1 } }, required: ['factor'], additionalProperties: false },
        {
          properties: { type: { const: 'cyclic' }, min_learning_rate: { type: 'number', exclusiveMinimum: 0 }, period_epochs: { type: 'integer', minimum: 2, maximum: 1000 } },
          required: ['min_learning_rate', 'period_epochs'],
          additionalProperties: false,
        },
      ],
    },
    train_epochs: { type: 'integer', minimum: 1, maximum: 1000, default: 5 },
    batch_size: { type: 'integer', minimum: 1, maximum: 65536, default: 128 },
    validation_split: {
      type: 'number',
      minimum: 0,
      exclusiveMaximum: 1,
      default: 0.1,
      description: 'Fraction of the training images held out (a seeded random subset) to report val_loss/val_accuracy.',
    },
    seed: { type: 'integer', minimum: 0, maximum: 4294967295, default: 0, description: 'Seeds weights, shuffling and dropout: same seed, backend and workers give the same metrics.' },
    backend: { enum: ['auto', 'tensorflow', 'wasm', 'cpu'], default: 'auto', description: 'auto: tfjs-node-gpu (when GPUs are requested), tfjs-node, wasm, then pure JS.' },
    workers: {
      description: 'Data-parallel replicas for the wasm and cpu backends (gradients averaged every step); auto: one per core, at most 4.',
      oneOf: [{ type: 'integer', minimum: 1, maximum: 16 }, { const: 'auto' }],
      default: 'auto',
    },
    privacy: {
      description:
        'Differentially private training (DP-SGD, Abadi et al. 2016): batches Poisson-sampled with rate batch_size/N, each example gradient clipped to l2_norm_clip, Gaussian noise of noise_multiplier * l2_norm_clip added to their sum, divided by batch_size. ε for delta is reported after every epoch (metric dp_epsilon). Absent: non-private training.',
      type: 'object',
      additionalProperties: false,
      required: ['l2_norm_clip', 'noise_multiplier'],
      properties: {
        l2_norm_clip: { type: 'number', exclusiveMinimum: 0, maximum: 1000, description: 'C: the L2 norm each example gradient is clipped to (its sensitivity).' },
        noise_multiplier: { type: 'number', exclusiveMinimum: 0, maximum: 1000, description: 'σ: the noise standard deviation over C.' },
        delta: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.00001, description: 'The δ of the (ε, δ) guarantee reported; keep it below 1/N.' },
      },
    },
  },
} as const;

export type LrSchedule =
  { type: 'constant' } | { type: 'step'; every_epochs: number; factor: number } | { type: 'exponential'; factor: number } | { type: 'cyclic'; min_learning_rate: number; period_epochs: number };

/** train.yaml as validated (defaults filled in): `model` may be an architecture, a model id or a layer list. */
export interface TrainConfigFile extends Omit<TrainConfig, 'model' | 'model_id' | 'focal_gamma'> {
  model: ModelName | ModelId | LayerModel;
  focal_gamma?: number;
}

/** train_config after validation, defaults and resolving the model id: what training uses and records. */
export interface TrainConfig {
  model: ModelName | LayerModel;
  /** The versioned id of the architecture trained (mnist_cnn_v1), or custom:<name>:<hash> of a layer list. */
  model_id: ModelId | `custom:${string}:${string}`;
  loss: 'categorical_crossentropy' | 'mse' | 'focal';
  /** Set with loss: focal only. */
  focal_gamma?: number;
  optimizer: 'adam' | 'sgd' | 'rmsprop';
  learning_rate: number;
  lr_schedule: LrSchedule;
  train_epochs: number;
  batch_size: number;
  validation_split: number;
  seed: number;
  backend: 'auto' | 'tensorflow' | 'wasm' | 'cpu';
  workers: number | 'auto';
  /** DP-SGD when set (delta filled in). */
  privacy?: PrivacyConfig;
}
