import * as tf from '@tensorflow/tfjs';
import type { Split } from '../data/dataset.js';
import { buildModel } from '../model/layers-config.js';
import { batchTensors, correctCount } from '../model/batch.js';
import type { Comm } from './comm.js';
import { lossSum } from '../model/loss.js';
import { dpSgdAccount } from '../privacy/accountant.js';
import { poissonSample } from '../privacy/sampling.js';
import { dpStep } from './dp-step.js';
import { mulberry32, permutation, seedMathRandom } from './rng.js';
import { learningRateAt } from './schedule.js';
import type { TrainConfig } from './schema.js';

/** Metrics of one epoch, as written to `<log_dir>/train-metrics.jsonl`. */
export interface EpochMetrics {
  epoch: number;
  learning_rate: number;
  loss: number;
  accuracy: number;
  val_loss: number | null;
  val_accuracy: number | null;
  images_per_s: number;
  seconds: number;
  num_tensors: number;
  /** With privacy: ε for privacy.delta after the steps so far (RDP accountant). */
  dp_epsilon?: number;
}

/** Progress inside an epoch (sent by replica 0). */
export interface StepProgress {
  epoch: number;
  step: number;
  steps: number;
  loss: number;
  accuracy: number;
  imagesPerS: number;
}

export interface LoopEvents {
  progress?(p: StepProgress): void;
  epoch?(m: EpochMetrics): void;
}

/** Makes the optimizer train_config names. */
export function makeOptimizer(cfg: Pick<TrainConfig, 'optimizer' | 'learning_rate'>): tf.Optimizer {
  switch (cfg.optimizer) {
    case 'adam':
      return tf.train.adam(cfg.learning_rate);
    case 'sgd':
      return tf.train.sgd(cfg.learning_rate);
    case 'rmsprop':
      return tf.train.rmsprop(cfg.learning_rate);
  }
}

function shard<T extends { length: number; subarray(a: number, b: number): T }>(all: T, comm: Comm): T {
  const start = Math.floor((all.length * comm.rank) / comm.world);
  const end = Math.floor((all.length * (comm.rank + 1)) / comm.world);
  return all.subarray(start, end);
}

/**
 * Sets the learning rate for the next steps. Adam and RMSProp read their `learningRate` field at every step (it is
 * protected in the typings, the value getConfig reports); SGD caches it in a tensor and has a setter for it.
 */
export function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  // Not `instanceof`: tfjs optimizers answer it by duck typing (every one is an "SGDOptimizer").
  const o = optimizer as unknown as { learningRate: number; setLearningRate?: (lr: number) => void };
  if (typeof o.setLearningRate === 'function') o.setLearningRate(lr);
  else o.learningRate = lr;
}

/** Loss sum, correct count and count of `model` on `idx` (this replica's share), summed over replicas. */
export function evaluateSplit(cfg: Pick<TrainConfig, 'loss' | 'focal_gamma'>, model: tf.LayersModel, data: Split, idx: Uint32Array, comm: Comm, batch = 500): [number, number, number] {
  const mine = shard(idx, comm);
  let loss = 0;
  let correct = 0;
  for (let s = 0; s < mine.length; s += batch) {
    const part = mine.subarray(s, Math.min(mine.length, s + batch));
    const [l, c] = tf.tidy(() => {
      const [x, y] = batchTensors(data, part);
      const p = model.predict(x) as tf.Tensor;
      return [lossSum(cfg, p, y).dataSync()[0], correctCount(p, y).dataSync()[0]];
    });
    loss += l;
    correct += c;
  }
  const total = comm.allReduce(Float32Array.of(loss, correct, mine.length));
  return [total[0], total[1], total[2]];
}

/** The number of images trained on: `count` less the validation split. */
export function trainCount(cfg: Pick<TrainConfig, 'validation_split'>, count: number): number {
  return count - Math.floor(count * cfg.validation_split);
}

/** The `step`-th batch of a shuffled epoch: batch_size examples of `order` (fewer in the last). */
function fixedBatch(trainIdx: Uint32Array, order: Uint32Array, step: number, batchSize: number): Uint32Array {
  const n = Math.min(batchSize, trainIdx.length - step * batchSize);
  const batch = new Uint32Array(n);
  for (let i = 0; i < n; i++) batch[i] = trainIdx[order[step * batchSize + i]];
  return batch;
}

/**
 * Trains one replica. With several replicas (worker threads), each computes gradients on its share of every global
 * batch; the summed gradient is applied by every replica identically, so all keep the same weights.
 */
export function trainReplica(cfg: TrainConfig, data: Split, comm: Comm, events: LoopEvents = {}): { model: tf.LayersModel; history: EpochMetrics[] } {
  const random = Math.random;
  seedMathRandom(cfg.seed * 1009 + comm.rank);
  try {
    return trainSeeded(cfg, data, comm, events);
  } finally {
    Math.random = random;
  }
}

function trainSeeded(cfg: TrainConfig, data: Split, comm: Comm, events: LoopEvents): { model: tf.LayersModel; history: EpochMetrics[] } {
  const model = buildModel(cfg.model, cfg.seed);
  const optimizer = makeOptimizer(cfg);
  const vars = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
  const sizes = vars.map((v) => v.size);
  const nParams = sizes.reduce((a, b) => a + b, 0);
  const split = permutation(data.count, cfg.seed);
  const nVal = data.count - trainCount(cfg, data.count);
  const valIdx = split.subarray(0, nVal);
  const trainIdx = split.subarray(nVal);
  const history: EpochMetrics[] = [];
  const privacy = cfg.privacy;
  const account = privacy ? dpSgdAccount(privacy, trainIdx.length, cfg.batch_size) : undefined;
  // Seeded without the rank: every replica draws the same batches and the same noise, so all keep the same weights.
  const noiseRand = mulberry32((cfg.seed ^ 0x2545f491) + 1);
  for (let epoch = 1; epoch <= cfg.train_epochs; epoch++) {
    const lr = learningRateAt(cfg.learning_rate, cfg.lr_schedule, epoch);
    setLearningRate(optimizer, lr);
    const order = permutation(trainIdx.length, cfg.seed + 7919 * epoch);
    const sampleRand = mulberry32((cfg.seed ^ 0x68e31da4) + 7919 * epoch);
    const steps = Math.ceil(trainIdx.length / cfg.batch_size);
    const started = performance.now();
    let lossTotal = 0;
    let correct = 0;
    let seen = 0;
    for (let step = 0; step < steps; step++) {
      const batchIdx = account ? poissonSample(trainIdx, account.sampling_rate, sampleRand) : fixedBatch(trainIdx, order, step, cfg.batch_size);
      const globalLen = batchIdx.length;
      const mine = shard(batchIdx, comm);
      let stats: Float32Array;
      if (privacy) {
        stats = dpStep({ ...cfg, privacy }, model, vars, optimizer, data, mine, comm, noiseRand);
      } else if (comm.world === 1) {
        stats = tf.tidy(() => {
          const [x, y] = batchTensors(data, mine);
          let c: tf.Scalar | undefined;
          const { value, grads } = tf.variableGrads(() => {
            const p = model.apply(x, { training: true }) as tf.Tensor;
            const l = lossSum(cfg, p, y);
            const k = correctCount(p, y);
            c = tf.keep(k); // variableGrads disposes everything f made except the loss
            return tf.div(l, globalLen) as tf.Scalar;
          }, vars);
          optimizer.applyGradients(grads);
          const right = c!.dataSync()[0];
          tf.dispose(c!);
          return Float32Array.of(value.dataSync()[0] * globalLen, right);
        });
      } else {
        const flat = new Float32Array(nParams + 2);
        tf.tidy(() => {
          let c: tf.Scalar | undefined;
          let value: tf.Scalar | undefined;
          if (mine.length > 0) {
            const [x, y] = batchTensors(data, mine);
            const r = tf.variableGrads(() => {
              const p = model.apply(x, { training: true }) as tf.Tensor;
              const l = lossSum(cfg, p, y);
              const k = correctCount(p, y);
              c = tf.keep(k);
              return tf.div(l, globalLen) as tf.Scalar;
            }, vars);
            value = r.value;
            flat[nParams + 1] = c!.dataSync()[0];
            tf.dispose(c!);
            let off = 0;
            vars.forEach((v, i) => {
              flat.set(r.grads[v.name].dataSync(), off);
              off += sizes[i];
            });
          }
          flat[nParams] = value ? value.dataSync()[0] * globalLen : 0;
        });
        const total = comm.allReduce(flat);
        tf.tidy(() => {
          const grads: Record<string, tf.Tensor> = {};
          let off = 0;
          vars.forEach((v, i) => {
            grads[v.name] = tf.tensor(total.subarray(off, off + sizes[i]), v.shape);
            off += sizes[i];
          });
          optimizer.applyGradients(grads);
        });
        stats = total.subarray(nParams);
      }
      lossTotal += stats[0];
      correct += stats[1];
      seen += globalLen;
      if (comm.rank === 0 && events.progress) {
        events.progress({ epoch, step: step + 1, steps, loss: lossTotal / seen, accuracy: correct / seen, imagesPerS: seen / ((performance.now() - started) / 1000) });
      }
    }
    const seconds = (performance.now() - started) / 1000;
    let valLoss: number | null = null;
    let valAcc: number | null = null;
    if (nVal > 0) {
      const [l, c, n] = evaluateSplit(cfg, model, data, valIdx, comm);
      valLoss = l / n;
      valAcc = c / n;
    }
    const m: EpochMetrics = {
      epoch,
      learning_rate: lr,
      loss: lossTotal / seen,
      accuracy: correct / seen,
      val_loss: valLoss,
      val_accuracy: valAcc,
      images_per_s: Math.round(seen / seconds),
      seconds: Math.round(seconds * 1000) / 1000,
      num_tensors: tf.memory().numTensors,
      ...(account ? { dp_epsilon: account.epsilonAfter(epoch).epsilon } : {}),
    };
    history.push(m);
    if (comm.rank === 0) events.epoch?.(m);
  }
  optimizer.dispose();
  return { model, history };
}
