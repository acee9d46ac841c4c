import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { reportMetrics } from '../metrics.js';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadDataset, type Split } from '../data/dataset.js';
import type { Logger } from '../log.js';
import { describeBackend, selectBackend } from '../model/backend.js';
import { batchTensors, lossAndCorrect } from '../model/batch.js';
import { loadModel } from '../model/io.js';
import { loadYamlConfig } from '../yaml-config.js';
import { onnxPredictor, type Predictor, tfjsPredictor } from './predictor.js';
import { EVAL_CONFIG_SCHEMA, type EvalConfig } from './schema.js';

export interface EvaluateParams {
  dataDir: string;
  modelDir: string;
  metricsDir: string;
  /** evaluate.yaml; absent (an optional input): the defaults. */
  evalConfig?: string;
  /** Seconds spent on each speed measurement (tests shorten it). */
  speedSeconds?: number;
}

/** Test-set quality of a model: accuracy, loss, per-class accuracy and the confusion matrix (rows: true label). */
export async function scoreModel(model: Predictor, test: Split, batch = 256) {
  const confusion = Array.from({ length: 10 }, () => new Array<number>(10).fill(0));
  let lossSum = 0;
  for (let s = 0; s < test.count; s += batch) {
    const idx = Uint32Array.from({ length: Math.min(batch, test.count - s) }, (_, i) => s + i);
    const [x, y] = batchTensors(test, idx);
    const probs = await model.probabilities(x);
    const [loss, pred] = tf.tidy(() => {
      const p = tf.tensor2d(probs, [idx.length, 10]);
      const [l] = lossAndCorrect(p, y);
      return [l.dataSync()[0], tf.argMax(p, -1).dataSync()];
    });
    tf.dispose([x, y]);
    lossSum += loss;
    idx.forEach((i, k) => {
      confusion[test.labels[i]][pred[k]]++;
    });
  }
  const correct = confusion.reduce((a, row, c) => a + row[c], 0);
  const perClass = Object.fromEntries(
    confusion.map((row, c) => {
      const n = row.reduce((a, b) => a + b, 0);
      return [String(c), n ? row[c] / n : null];
    }),
  );
  return { accuracy: correct / test.count, loss: lossSum / test.count, per_class_accuracy: perClass, confusion_matrix: confusion };
}

/** Inference speed: median/p90 latency of one image, and images/s at batch 256. */
export async function measureSpeed(model: Predictor, test: Split, seconds: number) {
  const one = batchTensors(test, [0]);
  const many = batchTensors(
    test,
    Uint32Array.from({ length: 256 }, (_, i) => i % test.count),
  );
  const run = (x: tf.Tensor4D) => model.probabilities(x);
  for (let i = 0; i < 5; i++) {
    await run(one[0]);
  }
  await run(many[0]);
  const lat: number[] = [];
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until || lat.length < 20) {
    const t = performance.now();
    await run(one[0]);
    lat.push(performance.now() - t);
  }
  lat.sort((a, b) => a - b);
  let images = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000 || images < 512) {
    await run(many[0]);
    images += 256;
  }
  const throughput = images / ((performance.now() - t0) / 1000);
  tf.dispose([...one, ...many]);
  const q = (p: number) => Math.round(lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] * 1000) / 1000;
  return { latency_ms_batch1: { median: q(0.5), p90: q(0.9), runs: lat.length }, throughput_images_per_s_batch256: Math.round(throughput) };
}

/**
 * Per-class accuracy as metric rows (`test_accuracy_class_<c>`) and the worst class (`test_accuracy_min_class`, what
 * the cube's "every class" gate reads): NaN when a class has no test image, so that gate cannot pass unchecked.
 */
export function classMetrics(perClass: Record<string, number | null>): Record<string, number> {
  const values = Object.values(perClass);
  return {
    ...Object.fromEntries(Object.entries(perClass).flatMap(([c, a]) => (a === null ? [] : [[`test_accuracy_class_${c}`, a]]))),
    test_accuracy_min_class: values.some((a) => a === null) ? NaN : Math.min(...(values as number[])),
  };
}

/** The evaluate task: scores the model on the held-back test digits and writes `<metrics_dir>/metrics.json`. */
export async function runEvaluate(params: EvaluateParams, log: Logger): Promise<Record<string, unknown>> {
  const cfg: EvalConfig = params.evalConfig && existsSync(params.evalConfig) ? loadYamlConfig<EvalConfig>(params.evalConfig, EVAL_CONFIG_SCHEMA, 'eval_config') : { backend: 'auto' };
  const data = loadDataset(params.dataDir);
  // The onnx backend still reads the model (and scores the loss) with TensorFlow.js.
  const backend = await selectBackend(cfg.backend === 'onnx' ? 'auto' : cfg.backend, process.env, 'eval_config');
  log.info(describeBackend(backend));
  const { model: tfModel, json } = await loadModel(params.modelDir);
  const model = cfg.backend === 'onnx' ? await onnxPredictor(tfModel) : tfjsPredictor(tfModel, backend.name);
  if (cfg.backend === 'onnx') log.info(`running the model on ${model.description}`);
  const score = await scoreModel(model, data.test);
  log.info(`test accuracy ${(score.accuracy * 100).toFixed(2)}% loss ${score.loss.toFixed(4)} on ${data.test.count} images from ${data.source}`);
  const speed = await measureSpeed(model, data.test, params.speedSeconds ?? 1.5);
  log.info(`inference (${model.backend}): ${speed.latency_ms_batch1.median} ms at batch 1 (median), ${speed.throughput_images_per_s_batch256} images/s at batch 256`);
  const metrics = {
    test_images: data.test.count,
    data_source: data.source,
    ...score,
    ...speed,
    backend: model.backend,
    model_id: json.userDefinedMetadata?.model_id ?? null,
    train_config: json.userDefinedMetadata?.train_config ?? null,
  };
  reportMetrics({
    test_accuracy: score.accuracy,
    test_loss: score.loss,
    ...classMetrics(score.per_class_accuracy),
    latency_ms_batch1: speed.latency_ms_batch1.median,
    throughput_images_per_s: speed.throughput_images_per_s_batch256,
  });
  mkdirSync(params.metricsDir, { recursive: true });
  writeFileSync(join(params.metricsDir, 'metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`);
  log.info(`metrics written to ${join(params.metricsDir, 'metrics.json')}`);
  await model.dispose();
  return metrics;
}
