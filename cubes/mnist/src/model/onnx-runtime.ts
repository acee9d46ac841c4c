import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import type { InferenceSession } from 'onnxruntime-node';
import { CubeError } from '../errors.js';
import { ONNX_INPUT, ONNX_LOGITS, ONNX_PROBABILITIES } from './onnx.js';

type Ort = typeof import('onnxruntime-node');
let ort: Ort | undefined;

/**
 * onnxruntime-node, loaded on first use (a native module: train never needs it). Its telemetry is turned off first:
 * on Linux, ONNX Runtime 1.30 otherwise keeps a device id and an event store under $XDG_CACHE_HOME/Microsoft (or
 * ~/.cache) and uploads to mobile.events.data.microsoft.com; it reads the variable once, when it initialises.
 */
async function runtime(): Promise<Ort> {
  try {
    process.env.ORT_DISABLE_TELEMETRY = '1';
    ort ??= await import('onnxruntime-node');
    return ort;
  } catch (err) {
    throw new CubeError({
      place: 'onnxruntime-node',
      problem: `ONNX Runtime failed to load: ${(err as Error).message.split('\n')[0]}`,
      expected: 'the CPU build bundled in the npm package (linux x64/arm64, macOS arm64, Windows)',
      fix: 'run npm ci in cubes/mnist on a supported platform',
    });
  }
}

/** The version of onnxruntime-node in use. */
export async function onnxRuntimeVersion(): Promise<string> {
  return (await runtime()).env.versions.node ?? 'unknown';
}

/** An ONNX model ready to run on ONNX Runtime's CPU provider, one intra-op thread per core. */
export interface OnnxModel {
  session: InferenceSession;
  threads: number;
  /** Logits and probabilities of a batch of images [n,28,28,1] (flat, as TensorFlow.js's dataSync gives them). */
  run(images: Float32Array, n: number): Promise<{ logits: Float32Array; probabilities: Float32Array }>;
  release(): Promise<void>;
}

export async function loadOnnx(bytes: Uint8Array, threads = availableParallelism()): Promise<OnnxModel> {
  const o = await runtime();
  const session = await o.InferenceSession.create(bytes, { executionProviders: ['cpu'], intraOpNumThreads: threads, graphOptimizationLevel: 'all' });
  return {
    session,
    threads,
    async run(images, n) {
      const out = await session.run({ [ONNX_INPUT]: new o.Tensor('float32', images, [n, 28, 28, 1]) });
      return { logits: out[ONNX_LOGITS].data as Float32Array, probabilities: out[ONNX_PROBABILITIES].data as Float32Array };
    },
    release: () => session.release(),
  };
}

/**
 * The TensorFlow.js model's logits: every layer but the last, then the last Dense without its softmax (the
 * probabilities the model returns lose precision near 0 and 1, the logits do not).
 */
export function tfLogits(model: tf.LayersModel, x: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => {
    const layers = model.layers;
    const dense = layers[layers.length - 1];
    let h = x;
    for (const l of layers.slice(0, -1)) if (l.getClassName() !== 'InputLayer') h = l.apply(h, { training: false }) as tf.Tensor;
    const [kernel, bias] = dense.getWeights();
    return tf.add(tf.matMul(h as tf.Tensor2D, kernel as tf.Tensor2D), bias) as tf.Tensor2D;
  });
}
