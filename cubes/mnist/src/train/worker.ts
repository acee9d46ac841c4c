import { parentPort, workerData } from 'node:worker_threads';
import { selectBackend } from '../model/backend.js';
import { modelArtifacts } from '../model/io.js';
import { SharedComm } from './comm.js';
import { type LoopEvents, trainReplica } from './loop.js';
import type { WorkerInput, WorkerMessage } from './parallel.js';

// One replica of data-parallel training (see parallel.ts); rank 0 reports progress and returns the model.
const input = workerData as WorkerInput;
const post = (m: WorkerMessage, transfer: ArrayBuffer[] = []) => parentPort!.postMessage(m, transfer);
try {
  await selectBackend(input.backend, { ...process.env, MLCUBE_GPUS: 'none' });
  const comm = new SharedComm(input.rank, input.world, input.comm);
  const data = { images: new Uint8Array(input.images), labels: new Uint8Array(input.labels), count: input.count };
  const events: LoopEvents =
    input.rank === 0
      ? {
          progress: (progress) => post({ type: 'progress', progress }),
          epoch: (metrics) => post({ type: 'epoch', metrics }),
        }
      : {};
  const { model, history } = trainReplica(input.cfg, data, comm, events);
  if (input.rank === 0) {
    const artifacts = await modelArtifacts(model);
    post({ type: 'done', artifacts, history });
  }
  model.dispose();
} catch (err) {
  post({ type: 'error', rank: input.rank, message: (err as Error).message });
}
