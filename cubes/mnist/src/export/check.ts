import * as tf from '@tensorflow/tfjs';
import type { Split } from '../data/dataset.js';
import { batchTensors } from '../model/batch.js';
import { loadOnnx, tfLogits } from '../model/onnx-runtime.js';

/** Tolerance on the logits: ONNX Runtime and TensorFlow.js add the same float32 products in different orders and precisions. */
export const MAX_ABS_DIFF = 1e-5;

/** How the ONNX model's outputs on ONNX Runtime compare with the TensorFlow.js model's on the same images. */
export interface OnnxCheck {
  images: number;
  max_abs_diff_logits: number;
  max_abs_diff_probabilities: number;
  tolerance: number;
  same_class: number;
  /** Indices (in the split) of the first images whose predicted class differs, at most 10. */
  different_class: number[];
  passed: boolean;
}

/** Runs the whole split through both (TensorFlow.js on the current backend), in batches, and compares logits, probabilities and the predicted class. */
export async function checkOnnx(model: tf.LayersModel, onnxBytes: Uint8Array, data: Split, batch = 256): Promise<OnnxCheck> {
  const onnx = await loadOnnx(onnxBytes);
  let dLogits = 0;
  let dProbs = 0;
  let same = 0;
  const different: number[] = [];
  try {
    for (let s = 0; s < data.count; s += batch) {
      const idx = Uint32Array.from({ length: Math.min(batch, data.count - s) }, (_, i) => s + i);
      const [x] = batchTensors(data, idx);
      const [tl, tp] = tf.tidy(() => [tfLogits(model, x).dataSync(), (model.predict(x) as tf.Tensor).dataSync()]);
      const o = await onnx.run(x.dataSync() as Float32Array, idx.length);
      x.dispose();
      const classes = tl.length / idx.length;
      for (let i = 0; i < idx.length; i++) {
        let a = 0;
        let b = 0;
        for (let c = 0; c < classes; c++) {
          const k = i * classes + c;
          dLogits = Math.max(dLogits, Math.abs(tl[k] - o.logits[k]));
          dProbs = Math.max(dProbs, Math.abs(tp[k] - o.probabilities[k]));
          if (tl[k] > tl[i * classes + a]) a = c;
          if (o.logits[k] > o.logits[i * classes + b]) b = c;
        }
        if (a === b) same++;
        else if (different.length < 10) different.push(s + i);
      }
    }
  } finally {
    await onnx.release();
  }
  return {
    images: data.count,
    max_abs_diff_logits: dLogits,
    max_abs_diff_probabilities: dProbs,
    tolerance: MAX_ABS_DIFF,
    same_class: same,
    different_class: different,
    passed: dLogits <= MAX_ABS_DIFF && same === data.count,
  };
}
