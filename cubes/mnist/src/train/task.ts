import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { reportMetrics } from '../metrics.js';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadDataset } from '../data/dataset.js';
import type { Logger } from '../log.js';
import { buildModel } from '../model/layers-config.js';
import { type BackendChoice, describeBackend, selectBackend } from '../model/backend.js';
import { modelArtifacts, writeModel } from '../model/io.js';
import { LocalComm } from './comm.js';
import { readTrainConfig } from './config.js';
import { type EpochMetrics, type LoopEvents, trainReplica } from './loop.js';
import { trainParallel } from './parallel.js';
import { privacySummary } from './privacy-summary.js';
import type { TrainConfig } from './schema.js';

export interface TrainParams {
  dataDir: string;
  trainConfig: string;
  modelDir: string;
  logDir?: string;
  /** The task's name: per-epoch metrics go to `<log_dir>/<task>-metrics.jsonl` (two trainings may share log_dir). */
  task?: string;
}

/**
 * Replicas to use. tfjs-node threads by itself: 1. `auto` on wasm/cpu: one per core (at most 4, at least 32 images
 * of the batch each) for the convolutional models; 1 for the dense ones, layer lists without conv2d included (mlp's 407k
 * gradients cost more to exchange than to compute; shallow_net is too small to share).
 */
export function workerCount(cfg: TrainConfig, backend: BackendChoice): number {
  if (backend.name === 'tensorflow') return 1;
  if (cfg.workers !== 'auto') return Math.max(1, Math.min(cfg.workers, cfg.batch_size));
  if (cfg.model === 'mlp' || cfg.model === 'shallow_net' || (typeof cfg.model === 'object' && !cfg.model.layers.some((l) => 'conv2d' in l))) return 1;
  return Math.max(1, Math.min(4, availableParallelism(), Math.floor(cfg.batch_size / 32)));
}

function bar(done: number, total: number, width = 24): string {
  const n = Math.round((done / total) * width);
  return `[${'='.repeat(Math.max(0, n - 1))}${n > 0 ? (done === total ? '=' : '>') : ''}${' '.repeat(width - n)}]`;
}

/** The train task: read data and train_config, train with the best backend, save the model and per-epoch metrics. */
export async function runTrain(params: TrainParams, log: Logger): Promise<EpochMetrics[]> {
  const cfg = readTrainConfig(params.trainConfig);
  const data = loadDataset(params.dataDir);
  const backend = await selectBackend(cfg.backend);
  for (const s of backend.skipped.filter((x) => x.startsWith('GPU requested'))) log.warn(s);
  log.info(describeBackend(backend));
  const world = workerCount(cfg, backend);
  log.info(`config ${JSON.stringify(cfg)}; ${data.train.count} training images from ${data.source}; ${world} worker${world > 1 ? 's' : ''}`);
  const privacy = cfg.privacy ? privacySummary(cfg, data.train.count) : undefined;
  if (privacy) {
    log.info(
      `DP-SGD: Poisson sampling rate ${privacy.sampling_rate.toPrecision(4)} over ${privacy.training_examples} examples, noise multiplier ${privacy.noise_multiplier}, clip ${privacy.l2_norm_clip}; planned epsilon ${privacy.epsilon.toFixed(4)} at delta ${privacy.delta} after ${privacy.steps} steps`,
    );
    if (privacy.delta >= 1 / privacy.training_examples)
      log.warn(`privacy.delta ${privacy.delta} is not below 1/N = ${(1 / privacy.training_examples).toPrecision(3)}: a guarantee that allows leaking an example; lower delta`);
  }
  const metricsFile = params.logDir ? join(params.logDir, `${params.task ?? 'train'}-metrics.jsonl`) : undefined;
  if (params.logDir) mkdirSync(params.logDir, { recursive: true });
  if (metricsFile) writeFileSync(metricsFile, '');
  const events: LoopEvents = {
    progress: (p) =>
      log.tty(`\r\x1b[Kepoch ${p.epoch}/${cfg.train_epochs} ${bar(p.step, p.steps)} ${p.step}/${p.steps} loss ${p.loss.toFixed(4)} acc ${p.accuracy.toFixed(4)} ${Math.round(p.imagesPerS)} img/s`),
    epoch: (m) => {
      log.tty('\r\x1b[K');
      const val = m.val_loss === null ? '' : ` val_loss ${m.val_loss.toFixed(4)} val_acc ${m.val_accuracy!.toFixed(4)}`;
      const dp = m.dp_epsilon === undefined ? '' : ` dp_epsilon ${m.dp_epsilon.toFixed(4)} (delta ${cfg.privacy!.delta})`;
      log.info(`epoch ${m.epoch}/${cfg.train_epochs}: loss ${m.loss.toFixed(4)} acc ${m.accuracy.toFixed(4)}${val}${dp} ${m.images_per_s} img/s (${m.seconds.toFixed(1)}s)`);
      if (metricsFile) appendFileSync(metricsFile, `${JSON.stringify({ ...m, model_id: cfg.model_id, backend: backend.name, workers: world })}\n`);
      reportMetrics(
        { learning_rate: m.learning_rate, loss: m.loss, accuracy: m.accuracy, val_loss: m.val_loss, val_accuracy: m.val_accuracy, images_per_s: m.images_per_s, dp_epsilon: m.dp_epsilon },
        m.epoch,
      );
    },
  };
  let artifacts: tf.io.ModelArtifacts;
  let history: EpochMetrics[];
  if (world === 1) {
    const r = trainReplica(cfg, data.train, new LocalComm(), events);
    artifacts = await modelArtifacts(r.model);
    history = r.history;
    r.model.dispose();
  } else {
    const probe = buildModel(cfg.model, cfg.seed);
    const nParams = probe.countParams();
    probe.dispose();
    ({ artifacts, history } = await trainParallel(cfg, data.train, world, backend.name, nParams, events));
  }
  // The model directory holds what the seed decides, not how fast this machine was (that is in the metrics rows and the
  // log): the same configuration trains the same files, byte for byte (`mlcube rerun`, README "Reruns").
  const kept = history.map(({ images_per_s: _i, seconds: _s, ...m }) => m);
  const dp = privacy ? { privacy } : {};
  writeModel(params.modelDir, artifacts, { model_id: cfg.model_id, train_config: cfg, backend: backend.name, workers: world, final: kept[kept.length - 1], tfjs: tf.version.tfjs, ...dp });
  writeFileSync(join(params.modelDir, 'training.json'), `${JSON.stringify({ model_id: cfg.model_id, train_config: cfg, backend: backend.name, workers: world, ...dp, history: kept }, null, 2)}\n`);
  log.info(`model ${cfg.model_id} saved to ${params.modelDir} (model.json + weights.bin, tfjs layers format)`);
  return history;
}
