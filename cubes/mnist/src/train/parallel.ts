import { Worker } from 'node:worker_threads';
import type * as tf from '@tensorflow/tfjs';
import type { Split } from '../data/dataset.js';
import { CubeError } from '../errors.js';
import type { BackendName } from '../model/backend.js';
import { abortShared, createSharedCommBuffers, type SharedCommBuffers } from './comm.js';
import type { EpochMetrics, LoopEvents } from './loop.js';
import type { TrainConfig } from './schema.js';

/** What each worker thread receives. */
export interface WorkerInput {
  cfg: TrainConfig;
  rank: number;
  world: number;
  backend: BackendName;
  comm: SharedCommBuffers;
  images: SharedArrayBuffer;
  labels: SharedArrayBuffer;
  count: number;
}

/** Messages from workers: progress and epochs from rank 0, artifacts at the end, or an error from any rank. */
export type WorkerMessage =
  | { type: 'progress'; progress: Parameters<NonNullable<LoopEvents['progress']>>[0] }
  | { type: 'epoch'; metrics: EpochMetrics }
  | { type: 'done'; artifacts: tf.io.ModelArtifacts; history: EpochMetrics[] }
  | { type: 'error'; rank: number; message: string };

function shared(data: Uint8Array): SharedArrayBuffer {
  const sab = new SharedArrayBuffer(data.length);
  new Uint8Array(sab).set(data);
  return sab;
}

/**
 * Data-parallel training on `world` worker threads (the wasm backend runs single-threaded in Node, tfjs#3830):
 * every step each worker takes its slice of the global batch and the gradients are summed through shared memory.
 */
export function trainParallel(
  cfg: TrainConfig,
  data: Split,
  world: number,
  backend: BackendName,
  nParams: number,
  events: LoopEvents,
): Promise<{ artifacts: tf.io.ModelArtifacts; history: EpochMetrics[] }> {
  const comm = createSharedCommBuffers(world, nParams + 8);
  const images = shared(data.images);
  const labels = shared(data.labels);
  const workers: Worker[] = [];
  return new Promise((resolve, reject) => {
    let result: { artifacts: tf.io.ModelArtifacts; history: EpochMetrics[] } | undefined;
    let failed = false;
    let exited = 0;
    const fail = (message: string) => {
      if (failed) return;
      failed = true;
      abortShared(comm);
      for (const w of workers) void w.terminate();
      reject(new CubeError({ place: 'train', problem: `a training worker failed: ${message}`, fix: 'set workers: 1 in train_config to train in one thread, and report the error' }));
    };
    for (let rank = 0; rank < world; rank++) {
      const workerData: WorkerInput = { cfg, rank, world, backend, comm, images, labels, count: data.count };
      const w = new Worker(new URL('./worker.js', import.meta.url), { workerData });
      workers.push(w);
      w.on('message', (m: WorkerMessage) => {
        if (m.type === 'progress') events.progress?.(m.progress);
        else if (m.type === 'epoch') events.epoch?.(m.metrics);
        else if (m.type === 'done') result = { artifacts: m.artifacts, history: m.history };
        else if (m.type === 'error') fail(`worker ${m.rank}: ${m.message}`);
      });
      w.on('error', (err) => fail(`worker ${rank}: ${err.message}`));
      w.on('exit', (code) => {
        if (code !== 0) fail(`worker ${rank} exited with code ${code}`);
        if (++exited === world && !failed) {
          if (result) resolve(result);
          else fail('no model came back from worker 0');
        }
      });
    }
  });
}
