import * as tf from '@tensorflow/tfjs';
import { toOnnx } from '../model/onnx.js';
import { loadOnnx, onnxRuntimeVersion } from '../model/onnx-runtime.js';

/** What runs the model during evaluation: TensorFlow.js on its backend, or the same model as ONNX on ONNX Runtime. */
export interface Predictor {
  /** The name metrics.json records (`backend`). */
  backend: string;
  /** For the log: the package and how it runs. */
  description: string;
  /** Softmax outputs [n,10] of a batch of images [n,28,28,1]. */
  probabilities(x: tf.Tensor4D): Promise<Float32Array>;
  dispose(): Promise<void>;
}

export function tfjsPredictor(model: tf.LayersModel, backend: string): Predictor {
  return {
    backend,
    description: `TensorFlow.js ${backend}`,
    probabilities: async (x) => tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync() as Float32Array),
    dispose: async () => {
      model.dispose();
    },
  };
}

/** The model converted to ONNX in memory (the converter the export task uses) and run on ONNX Runtime's CPU provider. */
export async function onnxPredictor(model: tf.LayersModel, threads?: number): Promise<Predictor> {
  const onnx = await loadOnnx(toOnnx(model), threads);
  model.dispose();
  return {
    backend: 'onnx',
    description: `ONNX Runtime ${await onnxRuntimeVersion()} (onnxruntime-node, CPU, ${onnx.threads} thread${onnx.threads > 1 ? 's' : ''})`,
    probabilities: async (x) => (await onnx.run(x.dataSync() as Float32Array, x.shape[0])).probabilities,
    dispose: () => onnx.release(),
  };
}
