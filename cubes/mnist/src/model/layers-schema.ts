/** Activations a layer list may name (the tfjs names; linear is none). */
export const ACTIVATIONS = ['linear', 'relu', 'relu6', 'elu', 'selu', 'sigmoid', 'tanh', 'softplus', 'softsign', 'swish', 'softmax'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

/** A window size or stride: one integer for both axes, or [height, width]. */
const SIZE = {
  oneOf: [
    { type: 'integer', minimum: 1, maximum: 28 },
    { type: 'array', items: { type: 'integer', minimum: 1, maximum: 28 }, minItems: 2, maxItems: 2 },
  ],
} as const;
const ACTIVATION = { enum: ACTIVATIONS, default: 'linear' } as const;
const PADDING = { enum: ['valid', 'same'], default: 'valid', description: 'valid: no padding (the output shrinks); same: zero padding so that the output is ceil(input / stride).' } as const;
const POOL = {
  type: 'object',
  additionalProperties: false,
  required: ['pool_size'],
  properties: { pool_size: SIZE, strides: { ...SIZE, description: 'Default: pool_size.' }, padding: PADDING },
} as const;

/**
 * JSON schema of a layer list model (`model: {name, layers}` in train.yaml): each item has exactly one key, the
 * layer type, whose value holds that layer's keys. Shapes are checked after the schema (layers-config.ts).
 */
export const LAYER_MODEL_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'layers'],
  properties: {
    name: { type: 'string', pattern: '^[a-z][a-z0-9_]{0,39}$', description: 'Part of the model id custom:<name>:<first 12 hex of the sha256 of the layer list>.' },
    layers: {
      type: 'array',
      minItems: 1,
      maxItems: 32,
      description: 'Applied in order to the [28,28,1] image; the last must be dense with units 10 and activation softmax.',
      items: {
        type: 'object',
        minProperties: 1,
        maxProperties: 1,
        additionalProperties: false,
        properties: {
          dense: {
            type: 'object',
            additionalProperties: false,
            required: ['units'],
            properties: { units: { type: 'integer', minimum: 1, maximum: 4096 }, activation: ACTIVATION, use_bias: { type: 'boolean', default: true } },
          },
          conv2d: {
            type: 'object',
            additionalProperties: false,
            required: ['filters', 'kernel_size'],
            properties: {
              filters: { type: 'integer', minimum: 1, maximum: 512 },
              kernel_size: SIZE,
              strides: { ...SIZE, default: 1 },
              padding: PADDING,
              activation: ACTIVATION,
              use_bias: { type: 'boolean', default: true },
            },
          },
          max_pooling2d: POOL,
          average_pooling2d: POOL,
          dropout: {
            type: 'object',
            additionalProperties: false,
            required: ['rate'],
            properties: { rate: { type: 'number', minimum: 0, exclusiveMaximum: 1, description: 'Fraction of inputs zeroed while training (seeded).' } },
          },
          flatten: { type: 'object', additionalProperties: false, properties: {}, description: 'Image [h,w,c] to a vector of h*w*c (no keys: flatten: {}).' },
          activation: { enum: ACTIVATIONS, description: 'An activation on its own, e.g. activation: relu.' },
        },
      },
    },
  },
} as const;

type Size = number | [number, number];
/** One item of `layers` as validated (defaults filled in). */
export type LayerItem =
  | { dense: { units: number; activation: Activation; use_bias: boolean } }
  | { conv2d: { filters: number; kernel_size: Size; strides: Size; padding: 'valid' | 'same'; activation: Activation; use_bias: boolean } }
  | { max_pooling2d: { pool_size: Size; strides?: Size; padding: 'valid' | 'same' } }
  | { average_pooling2d: { pool_size: Size; strides?: Size; padding: 'valid' | 'same' } }
  | { dropout: { rate: number } }
  | { flatten: Record<string, never> }
  | { activation: Activation };

/** A `model` given as a layer list. */
export interface LayerModel {
  name: string;
  layers: LayerItem[];
}
