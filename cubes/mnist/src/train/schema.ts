/** JSON schema of train_config (copied verbatim to schemas/mnist-train-config.schema.json; a test keeps them equal). */
export const TRAIN_CONFIG_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://mlcube-ts.local/schemas/mnist-train-config.schema.json',
  title: 'train_config of the mnist cube (train.yaml)',
  type: 'object',
  additionalProperties: false,
  properties: {
    model: { enum: ['mlp', 'cnn', 'lenet5'], default: 'cnn', description: 'mlp: the MLCube example (Flatten, Dense 512, Dropout 0.2, Dense 10); cnn: Conv32-Pool-Conv64-Pool-Dense128; lenet5.' },
    optimizer: { enum: ['adam', 'sgd', 'rmsprop'], default: 'adam' },
    learning_rate: { type: 'number', exclusiveMinimum: 0, maximum: 10, default: 0.001 },
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
  },
} as const;

/** train_config after validation and defaults. */
export interface TrainConfig {
  model: 'mlp' | 'cnn' | 'lenet5';
  optimizer: 'adam' | 'sgd' | 'rmsprop';
  learning_rate: number;
  train_epochs: number;
  batch_size: number;
  validation_split: number;
  seed: number;
  backend: 'auto' | 'tensorflow' | 'wasm' | 'cpu';
  workers: number | 'auto';
}
