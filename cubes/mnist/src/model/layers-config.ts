import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import type { ConfigIssue } from '../yaml-config.js';
import { createModel, IMAGE_SHAPE, init, type ModelName, NUM_CLASSES } from './architectures.js';
import type { Activation, LayerItem, LayerModel } from './layers-schema.js';

/** The most weights a layer list may have (cnn has 225k): a larger one would not train in a cube run. */
export const MAX_PARAMS = 5_000_000;

/** A layer list item in one form: sizes as [height, width], every default filled in. What the id hashes and tfjs builds. */
export type Layer =
  | { type: 'dense'; units: number; activation: Activation; use_bias: boolean }
  | { type: 'conv2d'; filters: number; kernel_size: [number, number]; strides: [number, number]; padding: 'valid' | 'same'; activation: Activation; use_bias: boolean }
  | { type: 'max_pooling2d' | 'average_pooling2d'; pool_size: [number, number]; strides: [number, number]; padding: 'valid' | 'same' }
  | { type: 'dropout'; rate: number }
  | { type: 'flatten' }
  | { type: 'activation'; activation: Activation };

const pair = (v: number | [number, number] | undefined, fallback: [number, number]): [number, number] => (v === undefined ? fallback : typeof v === 'number' ? [v, v] : [v[0], v[1]]);

/** The canonical form of one validated item. */
export function normalizeLayer(item: LayerItem): Layer {
  if ('dense' in item) return { type: 'dense', units: item.dense.units, activation: item.dense.activation ?? 'linear', use_bias: item.dense.use_bias ?? true };
  if ('conv2d' in item) {
    const c = item.conv2d;
    return {
      type: 'conv2d',
      filters: c.filters,
      kernel_size: pair(c.kernel_size, [1, 1]),
      strides: pair(c.strides, [1, 1]),
      padding: c.padding ?? 'valid',
      activation: c.activation ?? 'linear',
      use_bias: c.use_bias ?? true,
    };
  }
  if ('max_pooling2d' in item || 'average_pooling2d' in item) {
    const type = 'max_pooling2d' in item ? 'max_pooling2d' : 'average_pooling2d';
    const p = 'max_pooling2d' in item ? item.max_pooling2d : item.average_pooling2d;
    const size = pair(p.pool_size, [2, 2]);
    return { type, pool_size: size, strides: pair(p.strides, size), padding: p.padding ?? 'valid' };
  }
  if ('dropout' in item) return { type: 'dropout', rate: item.dropout.rate };
  if ('flatten' in item) return { type: 'flatten' };
  return { type: 'activation', activation: item.activation };
}

/** The model id of a layer list: custom:<name>:<12 hex of the sha256 of its canonical JSON>, equal for equal lists. */
export function layerModelId(m: LayerModel): `custom:${string}:${string}` {
  const canonical = JSON.stringify(m.layers.map(normalizeLayer)); // keys in the fixed order normalizeLayer writes them
  return `custom:${m.name}:${createHash('sha256').update(canonical).digest('hex').slice(0, 12)}`;
}

/** Shape without the batch axis: [h, w, c] for images, [n] once flat. */
export type Shape = number[];

/** Output size along one axis of a window of `k` moved by `s` (TensorFlow's valid and same padding). */
function windowOut(size: number, k: number, s: number, padding: 'valid' | 'same'): number {
  return padding === 'same' ? Math.ceil(size / s) : Math.floor((size - k) / s) + 1;
}

const fmt = (s: Shape) => `[${s.join(',')}]`;

/** The output shape and weight count of each layer, or the first layer whose input does not fit (located issue). */
export function layerShapes(m: LayerModel): { shapes: Shape[]; params: number } | ConfigIssue {
  let shape: Shape = [...IMAGE_SHAPE];
  let params = 0;
  const shapes: Shape[] = [];
  const n = m.layers.length;
  for (const [i, item] of m.layers.entries()) {
    const l = normalizeLayer(item);
    const at = ['model', 'layers', String(i), l.type];
    const issue = (problem: string, expected: string, fix: string): ConfigIssue => ({ path: at, problem: `layer ${i} (${l.type}) ${problem}`, expected, fix });
    switch (l.type) {
      case 'conv2d':
      case 'max_pooling2d':
      case 'average_pooling2d': {
        if (shape.length !== 3) return issue(`gets a flat input of shape ${fmt(shape)}`, 'an image input [height,width,channels]', `move it before the flatten layer`);
        const k = l.type === 'conv2d' ? l.kernel_size : l.pool_size;
        if (l.padding === 'valid' && (k[0] > shape[0] || k[1] > shape[1]))
          return issue(
            `has a window ${fmt(k)} larger than its input ${fmt(shape)}`,
            `a window of at most ${fmt(shape.slice(0, 2))}`,
            'make the window smaller, use padding: same, or remove a pooling layer before it',
          );
        const out = [windowOut(shape[0], k[0], l.strides[0], l.padding), windowOut(shape[1], k[1], l.strides[1], l.padding)];
        if (l.type === 'conv2d') params += k[0] * k[1] * shape[2] * l.filters + (l.use_bias ? l.filters : 0);
        shape = [...out, l.type === 'conv2d' ? l.filters : shape[2]];
        break;
      }
      case 'flatten':
        if (shape.length !== 3) return issue(`gets an input that is already flat (${fmt(shape)})`, 'an image input [height,width,channels]', 'remove this flatten layer');
        shape = [shape[0] * shape[1] * shape[2]];
        break;
      case 'dense':
        if (shape.length !== 1) return issue(`gets an image input of shape ${fmt(shape)}`, 'a flat input', 'put a flatten layer before it');
        params += shape[0] * l.units + (l.use_bias ? l.units : 0);
        shape = [l.units];
        break;
      case 'dropout':
      case 'activation':
        break;
    }
    shapes.push(shape);
  }
  const last = normalizeLayer(m.layers[n - 1]);
  if (last.type !== 'dense' || last.units !== NUM_CLASSES || last.activation !== 'softmax') {
    return {
      path: ['model', 'layers', String(n - 1), last.type],
      problem: `the last layer (${n - 1}, ${last.type}) gives ${fmt(shape)}${'activation' in last ? ` with activation ${last.activation}` : ''}`,
      expected: `dense with units ${NUM_CLASSES} and activation softmax (the class probabilities the losses and evaluate read)`,
      fix: `end the list with {dense: {units: ${NUM_CLASSES}, activation: softmax}}`,
    };
  }
  if (params > MAX_PARAMS) {
    return { path: ['model', 'layers'], problem: `the layers have ${params} weights`, expected: `at most ${MAX_PARAMS}`, fix: 'use fewer units or filters, or pool before the first dense layer' };
  }
  return { shapes, params };
}

/** The located issue of a layer list, if any (for checkTrainConfig). */
export function checkLayerModel(m: LayerModel): ConfigIssue | undefined {
  const r = layerShapes(m);
  return 'path' in r ? r : undefined;
}

/** Builds an uncompiled Sequential model of a checked layer list, with the cube's seeded initialisers. */
export function createLayerModel(m: LayerModel, seed = 0): tf.LayersModel {
  const model = tf.sequential({ name: m.name });
  let first: { inputShape: number[] } | object = { inputShape: [...IMAGE_SHAPE] };
  let weighted = 0;
  for (const l of m.layers.map(normalizeLayer)) {
    const common = first;
    first = {};
    switch (l.type) {
      case 'dense':
        model.add(tf.layers.dense({ ...common, units: l.units, activation: l.activation, useBias: l.use_bias, ...init(seed, ++weighted) }));
        break;
      case 'conv2d':
        model.add(
          tf.layers.conv2d({
            ...common,
            filters: l.filters,
            kernelSize: l.kernel_size,
            strides: l.strides,
            padding: l.padding,
            activation: l.activation,
            useBias: l.use_bias,
            ...init(seed, ++weighted),
          }),
        );
        break;
      case 'max_pooling2d':
        model.add(tf.layers.maxPooling2d({ ...common, poolSize: l.pool_size, strides: l.strides, padding: l.padding }));
        break;
      case 'average_pooling2d':
        model.add(tf.layers.averagePooling2d({ ...common, poolSize: l.pool_size, strides: l.strides, padding: l.padding }));
        break;
      case 'dropout':
        model.add(tf.layers.dropout({ ...common, rate: l.rate }));
        break;
      case 'flatten':
        model.add(tf.layers.flatten(common));
        break;
      case 'activation':
        model.add(tf.layers.activation({ ...common, activation: l.activation }));
        break;
    }
  }
  return model;
}

/** The model train_config names: a built-in architecture or a layer list. */
export function buildModel(model: ModelName | LayerModel, seed = 0): tf.LayersModel {
  return typeof model === 'string' ? createModel(model, seed) : createLayerModel(model, seed);
}
