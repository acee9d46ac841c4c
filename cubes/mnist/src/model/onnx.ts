import onnxProto, { type onnx as Onnx } from 'onnx-proto';
import type * as tf from '@tensorflow/tfjs';
import { CubeError } from '../errors.js';

const { onnx } = onnxProto;

/** Names of the graph's input and outputs: the scaled image (as the TensorFlow.js model takes it) and what the last Dense gives. */
export const ONNX_INPUT = 'image';
export const ONNX_LOGITS = 'logits';
export const ONNX_PROBABILITIES = 'probabilities';
/** Opset 13: Softmax over one axis, as TensorFlow.js's; every operator used here exists in it unchanged. */
const OPSET = 13;

interface LayerConfig {
  activation?: string;
  padding?: 'valid' | 'same';
  strides?: number[];
  kernelSize?: number[];
  poolSize?: number[];
  dilationRate?: number | number[];
  dataFormat?: string;
  useBias?: boolean;
}

/** The shape flowing between layers: NHWC as TensorFlow.js has it, or NCHW once the convolutions run (ONNX's layout). */
type Flow = { layout: 'nhwc' | 'nchw'; h: number; w: number; c: number } | { layout: 'flat'; n: number; from?: { h: number; w: number; c: number } };

function pair(v: number | number[] | undefined, fallback: number): [number, number] {
  if (v === undefined) return [fallback, fallback];
  return typeof v === 'number' ? [v, v] : [v[0], v[1] ?? v[0]];
}

/** Padding that TensorFlow's 'same' means for one axis: the odd pixel goes at the end (ONNX SAME_UPPER). */
function samePads(size: number, kernel: number, stride: number, dilation: number): [number, number] {
  const out = Math.ceil(size / stride);
  const total = Math.max(0, (out - 1) * stride + (kernel - 1) * dilation + 1 - size);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

function outSize(size: number, kernel: number, stride: number, dilation: number, pads: [number, number]): number {
  return Math.floor((size + pads[0] + pads[1] - ((kernel - 1) * dilation + 1)) / stride) + 1;
}

/** HWIO (TensorFlow.js) to OIHW (ONNX). */
function convKernel(w: Float32Array, [kh, kw, ci, co]: number[]): Float32Array {
  const out = new Float32Array(w.length);
  for (let h = 0; h < kh; h++) for (let x = 0; x < kw; x++) for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) out[((o * ci + i) * kh + h) * kw + x] = w[((h * kw + x) * ci + i) * co + o];
  return out;
}

/** Reorders a Dense kernel's rows from the HWC order TensorFlow.js flattens in to the CHW order ONNX flattens NCHW in. */
function chwRows(w: Float32Array, units: number, { h, w: wd, c }: { h: number; w: number; c: number }): Float32Array {
  const out = new Float32Array(w.length);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < wd; x++)
      for (let ch = 0; ch < c; ch++) {
        const from = ((y * wd + x) * c + ch) * units;
        out.set(w.subarray(from, from + units), ((ch * h + y) * wd + x) * units);
      }
  return out;
}

const attrInts = (name: string, ints: number[]) => ({ name, type: onnx.AttributeProto.AttributeType.INTS, ints });
const attrInt = (name: string, i: number) => ({ name, type: onnx.AttributeProto.AttributeType.INT, i });

function floatTensor(name: string, dims: number[], data: Float32Array): Onnx.ITensorProto {
  return { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

function valueInfo(name: string, dims: Array<number | string>): Onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

/** Activations written as one ONNX operator each (their defaults are TensorFlow.js's constants: elu alpha 1, selu's). */
const ONNX_ACTIVATIONS: Record<string, string> = { relu: 'Relu', tanh: 'Tanh', sigmoid: 'Sigmoid', elu: 'Elu', selu: 'Selu', softplus: 'Softplus', softsign: 'Softsign' };

function unsupported(layer: tf.layers.Layer, what: string): CubeError {
  return new CubeError({
    place: `model layer ${layer.name} (${layer.getClassName()})`,
    problem: `cannot be written as ONNX: ${what}`,
    expected: `Conv2D, MaxPooling2D, AveragePooling2D, Flatten, Dense, Dropout and Activation layers with activations ${Object.keys(ONNX_ACTIVATIONS).join('/')}/linear, softmax on the last Dense only`,
    fix: 'train the model with these layers and activations (relu6 and swish have no single ONNX operator here)',
  });
}

/**
 * The ONNX graph of a trained Sequential model of this cube, from its weights: input `image` [N,28,28,1] (pixels
 * scaled to [0,1], NHWC as the TensorFlow.js model takes it), outputs `logits` (the last Dense before its softmax)
 * and `probabilities` (what the TensorFlow.js model returns). Dropout is the identity at inference and is left out.
 */
export function toOnnx(model: tf.LayersModel, docString = ''): Uint8Array {
  const [, h0, w0, c0] = model.inputs[0].shape as number[];
  const nodes: Onnx.INodeProto[] = [];
  const inits: Onnx.ITensorProto[] = [];
  let flow: Flow = { layout: 'nhwc', h: h0, w: w0, c: c0 };
  let current = ONNX_INPUT;
  let k = 0;
  const node = (opType: string, inputs: string[], attribute: object[] = [], output = `t${k++}`) => {
    nodes.push({ opType, input: inputs, output: [output], name: `${opType}_${nodes.length}`, attribute });
    current = output;
    return output;
  };
  const toNchw = () => {
    if (flow.layout === 'nhwc') {
      node('Transpose', [current], [attrInts('perm', [0, 3, 1, 2])]);
      flow = { ...flow, layout: 'nchw' };
    }
  };
  const layers = model.layers;
  const last = layers.map((l) => l.getClassName()).lastIndexOf('Dense');
  for (const [i, layer] of layers.entries()) {
    const cls = layer.getClassName();
    const cfg = layer.getConfig() as LayerConfig;
    if (cfg.dataFormat && cfg.dataFormat !== 'channelsLast') throw unsupported(layer, `dataFormat ${cfg.dataFormat}`);
    const weights = layer.getWeights().map((t) => ({ shape: t.shape as number[], data: t.dataSync() as Float32Array }));
    const activation = cfg.activation ?? 'linear';
    switch (cls) {
      case 'InputLayer':
      case 'Dropout':
        continue;
      case 'Activation':
        break; // only its activation, written below
      case 'Conv2D': {
        if (flow.layout === 'flat') throw unsupported(layer, 'a convolution after Flatten');
        toNchw();
        const [kh, kw, , co] = weights[0].shape;
        const [sh, sw] = pair(cfg.strides, 1);
        const [dh, dw] = pair(cfg.dilationRate, 1);
        const ph: [number, number] = cfg.padding === 'same' ? samePads(flow.h, kh, sh, dh) : [0, 0];
        const pw: [number, number] = cfg.padding === 'same' ? samePads(flow.w, kw, sw, dw) : [0, 0];
        inits.push(floatTensor(`${layer.name}_W`, [co, weights[0].shape[2], kh, kw], convKernel(weights[0].data, weights[0].shape)));
        const inputs = [current, `${layer.name}_W`];
        if (weights[1]) {
          inits.push(floatTensor(`${layer.name}_B`, [co], weights[1].data));
          inputs.push(`${layer.name}_B`);
        }
        node('Conv', inputs, [attrInts('kernel_shape', [kh, kw]), attrInts('strides', [sh, sw]), attrInts('dilations', [dh, dw]), attrInts('pads', [ph[0], pw[0], ph[1], pw[1]])]);
        flow = { layout: 'nchw', h: outSize(flow.h, kh, sh, dh, ph), w: outSize(flow.w, kw, sw, dw, pw), c: co };
        break;
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        if (flow.layout === 'flat') throw unsupported(layer, 'pooling after Flatten');
        toNchw();
        const [kh, kw] = pair(cfg.poolSize, 2);
        const [sh, sw] = pair(cfg.strides ?? cfg.poolSize, 2);
        const ph: [number, number] = cfg.padding === 'same' ? samePads(flow.h, kh, sh, 1) : [0, 0];
        const pw: [number, number] = cfg.padding === 'same' ? samePads(flow.w, kw, sw, 1) : [0, 0];
        // TensorFlow averages over the pixels inside the image only: count_include_pad stays 0 (the default).
        node(cls === 'MaxPooling2D' ? 'MaxPool' : 'AveragePool', [current], [attrInts('kernel_shape', [kh, kw]), attrInts('strides', [sh, sw]), attrInts('pads', [ph[0], pw[0], ph[1], pw[1]])]);
        flow = { ...flow, h: outSize(flow.h, kh, sh, 1, ph), w: outSize(flow.w, kw, sw, 1, pw) };
        break;
      }
      case 'Flatten':
        if (flow.layout === 'flat') continue;
        node('Flatten', [current], [attrInt('axis', 1)]);
        flow = { layout: 'flat', n: flow.h * flow.w * flow.c, from: flow.layout === 'nchw' ? { h: flow.h, w: flow.w, c: flow.c } : undefined };
        break;
      case 'Dense': {
        if (flow.layout !== 'flat') throw unsupported(layer, 'a Dense layer on a 4-D input');
        const [nIn, units] = weights[0].shape;
        const kernel = flow.from ? chwRows(weights[0].data, units, flow.from) : weights[0].data;
        inits.push(floatTensor(`${layer.name}_W`, [nIn, units], kernel));
        const inputs = [current, `${layer.name}_W`];
        if (weights[1]) {
          inits.push(floatTensor(`${layer.name}_B`, [units], weights[1].data));
          inputs.push(`${layer.name}_B`);
        }
        node('Gemm', inputs, [], i === last ? ONNX_LOGITS : undefined);
        flow = { layout: 'flat', n: units };
        break;
      }
      default:
        throw unsupported(layer, 'layer type not supported');
    }
    if (ONNX_ACTIVATIONS[activation]) node(ONNX_ACTIVATIONS[activation], [current]);
    else if (activation === 'softmax' && i === last) node('Softmax', [current], [attrInt('axis', -1)], ONNX_PROBABILITIES);
    else if (activation !== 'linear') throw unsupported(layer, `activation ${activation}`);
  }
  if (current !== ONNX_PROBABILITIES)
    throw new CubeError({ place: 'model', problem: 'cannot be written as ONNX: it does not end in a Dense layer with softmax', fix: 'export a model trained by this cube' });
  const units = (flow as { n: number }).n;
  const proto = onnx.ModelProto.create({
    irVersion: 7,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'mlcube-mnist-ts',
    modelVersion: 1,
    docString,
    graph: {
      name: model.name,
      node: nodes,
      initializer: inits,
      input: [valueInfo(ONNX_INPUT, ['N', h0, w0, c0])],
      output: [valueInfo(ONNX_LOGITS, ['N', units]), valueInfo(ONNX_PROBABILITIES, ['N', units])],
    },
  });
  return onnx.ModelProto.encode(proto).finish();
}
