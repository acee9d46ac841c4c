import * as tf from '@tensorflow/tfjs';

/** Model architectures this cube can train (the `model` key of train.yaml). */
export const MODEL_NAMES = ['mlp', 'cnn', 'lenet5', 'shallow_net'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

/**
 * Versioned model ids and the architecture each stands for. A bare architecture name in train.yaml means its
 * current version; a change to an architecture below gets a new id (mnist_cnn_v2) and keeps the old one buildable.
 */
export const MODEL_IDS = { mnist_mlp_v1: 'mlp', mnist_cnn_v1: 'cnn', mnist_lenet5_v1: 'lenet5', mnist_shallow_net_v1: 'shallow_net' } as const satisfies Record<string, ModelName>;
export type ModelId = keyof typeof MODEL_IDS;

/** The architecture and the model id of a train.yaml `model` value (an architecture or an id). */
export function resolveModel(value: ModelName | ModelId): { model: ModelName; model_id: ModelId } {
  if (value in MODEL_IDS) return { model: MODEL_IDS[value as ModelId], model_id: value as ModelId };
  const ids = (Object.keys(MODEL_IDS) as ModelId[]).filter((id) => MODEL_IDS[id] === value);
  // The current version is the last id listed for the architecture.
  return { model: value as ModelName, model_id: ids[ids.length - 1] };
}

export const IMAGE_SHAPE = [28, 28, 1] as const;
export const NUM_CLASSES = 10;

/** Seeded initialisers, so that the same seed gives the same starting weights. */
export function init(seed: number, i: number) {
  return { kernelInitializer: tf.initializers.glorotUniform({ seed: seed * 7919 + i }), biasInitializer: 'zeros' as const };
}

/**
 * Builds an uncompiled model with softmax outputs. `mlp` is the MLCube example's
 * Flatten→Dense 512→Dropout 0.2→Dense 10; `cnn` is Conv32-Pool-Conv64-Pool-Dense128; `lenet5` is LeCun's 1998 layout with ReLU;
 * `shallow_net` is Dioptra's MNIST shallow network (Flatten→Dense 32 sigmoid→Dense 10).
 */
export function createModel(name: ModelName, seed = 0): tf.LayersModel {
  const m = tf.sequential({ name });
  const inputShape = [...IMAGE_SHAPE];
  switch (name) {
    case 'mlp':
      m.add(tf.layers.flatten({ inputShape }));
      m.add(tf.layers.dense({ units: 512, activation: 'relu', ...init(seed, 1) }));
      m.add(tf.layers.dropout({ rate: 0.2 }));
      m.add(tf.layers.dense({ units: NUM_CLASSES, activation: 'softmax', ...init(seed, 2) }));
      break;
    case 'cnn':
      m.add(tf.layers.conv2d({ inputShape, filters: 32, kernelSize: 3, activation: 'relu', ...init(seed, 1) }));
      m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
      m.add(tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu', ...init(seed, 2) }));
      m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
      m.add(tf.layers.flatten());
      m.add(tf.layers.dense({ units: 128, activation: 'relu', ...init(seed, 3) }));
      m.add(tf.layers.dropout({ rate: 0.3 }));
      m.add(tf.layers.dense({ units: NUM_CLASSES, activation: 'softmax', ...init(seed, 4) }));
      break;
    case 'lenet5':
      m.add(tf.layers.conv2d({ inputShape, filters: 6, kernelSize: 5, padding: 'same', activation: 'relu', ...init(seed, 1) }));
      m.add(tf.layers.averagePooling2d({ poolSize: 2 }));
      m.add(tf.layers.conv2d({ filters: 16, kernelSize: 5, activation: 'relu', ...init(seed, 2) }));
      m.add(tf.layers.averagePooling2d({ poolSize: 2 }));
      m.add(tf.layers.flatten());
      m.add(tf.layers.dense({ units: 120, activation: 'relu', ...init(seed, 3) }));
      m.add(tf.layers.dense({ units: 84, activation: 'relu', ...init(seed, 4) }));
      m.add(tf.layers.dense({ units: NUM_CLASSES, activation: 'softmax', ...init(seed, 5) }));
      break;
    case 'shallow_net':
      m.add(tf.layers.flatten({ inputShape }));
      m.add(tf.layers.dense({ units: 32, activation: 'sigmoid', ...init(seed, 1) }));
      m.add(tf.layers.dense({ units: NUM_CLASSES, activation: 'softmax', ...init(seed, 2) }));
      break;
    default:
      throw new Error(`Expected model to be one of ${MODEL_NAMES.join(', ')}, but got ${String(name)}`);
  }
  return m;
}
