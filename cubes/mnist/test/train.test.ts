import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { loadModel, modelArtifacts, writeModel } from '../src/model/io.js';
import { selectBackend } from '../src/model/backend.js';
import { LocalComm } from '../src/train/comm.js';
import { trainReplica } from '../src/train/loop.js';
import { createModel } from '../src/model/architectures.js';
import { trainParallel } from '../src/train/parallel.js';
import { runTrain } from '../src/train/task.js';
import { registerWasmTrainingKernels } from '../src/model/wasm-kernels.js';
import { quietLogger, tempDir, toySplit, trainConfig, writeMnistData } from './helpers.js';

const base = trainConfig();

async function onBackend<T>(name: string, f: () => T): Promise<T> {
  await tf.setBackend(name);
  return f();
}

describe('mnist cube: wasm training kernels match the cpu backend', function () {
  this.timeout(60000);
  before(async () => {
    registerWasmTrainingKernels();
  });
  after(async () => {
    await tf.setBackend('cpu');
  });

  const cases: Array<{ name: string; x: number[]; f: number[]; strides: number; pad: 'valid' | 'same' }> = [
    { name: '3x3 stride 1 valid', x: [3, 9, 9, 4], f: [3, 3, 4, 5], strides: 1, pad: 'valid' },
    { name: '5x5 stride 1 same', x: [2, 8, 8, 1], f: [5, 5, 1, 6], strides: 1, pad: 'same' },
    { name: '3x3 stride 2 same', x: [2, 9, 9, 3], f: [3, 3, 3, 4], strides: 2, pad: 'same' },
  ];
  for (const c of cases) {
    it(`conv2d gradients (filter and input), ${c.name}`, async () => {
      const grads = () =>
        tf.tidy(() => {
          const x = tf.tensor4d(
            Float32Array.from({ length: c.x.reduce((a, b) => a * b) }, (_, i) => Math.sin(i)),
            c.x as [number, number, number, number],
          );
          const w = tf.tensor4d(
            Float32Array.from({ length: c.f.reduce((a, b) => a * b) }, (_, i) => Math.cos(i * 0.7)),
            c.f as [number, number, number, number],
          );
          const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad))));
          return g([x, w]).map((t) => Array.from(t.dataSync()));
        });
      const cpu = await onBackend('cpu', grads);
      const wasm = await onBackend('wasm', grads);
      for (let k = 0; k < 2; k++) wasm[k].forEach((v, i) => expect(v).to.be.closeTo(cpu[k][i], 1e-3 * Math.max(1, Math.abs(cpu[k][i]))));
    });
  }

  it('maxPool and transposed matMul gradients', async () => {
    const grads = () =>
      tf.tidy(() => {
        const x = tf.tensor4d(
          Float32Array.from({ length: 2 * 6 * 6 * 3 }, (_, i) => Math.sin(i * 1.3)),
          [2, 6, 6, 3],
        );
        const a = tf.tensor2d(
          Float32Array.from({ length: 12 }, (_, i) => i / 7),
          [3, 4],
        );
        const b = tf.tensor2d(
          Float32Array.from({ length: 20 }, (_, i) => Math.cos(i)),
          [4, 5],
        );
        const gp = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid'), 3)))(x);
        const [ga, gb] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.square(tf.matMul(p as tf.Tensor2D, q as tf.Tensor2D))))([a, b]);
        const t1 = tf.matMul(b, a, true, true);
        return [gp, ga, gb, t1].map((t) => Array.from(t.dataSync()));
      });
    const cpu = await onBackend('cpu', grads);
    const wasm = await onBackend('wasm', grads);
    wasm.forEach((arr, k) => arr.forEach((v, i) => expect(v).to.be.closeTo(cpu[k][i], 1e-4 * Math.max(1, Math.abs(cpu[k][i])))));
  });
});

describe('mnist cube: training', function () {
  this.timeout(120000);
  const data = toySplit(320);
  before(async () => {
    await selectBackend('wasm');
  });
  after(async () => {
    await tf.setBackend('cpu');
  });

  it('runs one epoch of each model on a tiny set and reports the metrics', () => {
    for (const model of ['mlp', 'cnn', 'lenet5'] as const) {
      const { model: m, history } = trainReplica({ ...base, model }, data, new LocalComm());
      expect(history).to.have.length(1);
      const e = history[0];
      expect(e.loss).to.be.a('number').and.greaterThan(0);
      expect(e.accuracy).to.be.within(0, 1);
      expect(e.val_accuracy).to.be.within(0, 1);
      expect(e.images_per_s).to.be.greaterThan(0);
      m.dispose();
    }
  });

  it('is deterministic with a seed, and learns the toy task', () => {
    const a = trainReplica({ ...base, train_epochs: 3 }, data, new LocalComm());
    const b = trainReplica({ ...base, train_epochs: 3 }, data, new LocalComm());
    const strip = (h: typeof a.history) => h.map(({ loss, accuracy, val_loss, val_accuracy }) => ({ loss, accuracy, val_loss, val_accuracy }));
    expect(strip(a.history)).to.deep.equal(strip(b.history));
    expect(a.history[2].val_accuracy).to.be.greaterThan(0.9);
    const c = trainReplica({ ...base, train_epochs: 1, seed: 8 }, data, new LocalComm());
    expect(c.history[0].loss).to.not.equal(a.history[0].loss);
    [a, b, c].forEach((r) => r.model.dispose());
  });

  it('does not grow the number of tensors from epoch to epoch', () => {
    const before = tf.memory().numTensors;
    const r = trainReplica({ ...base, model: 'cnn', train_epochs: 3 }, data, new LocalComm());
    const counts = r.history.map((h) => h.num_tensors);
    expect(counts[1]).to.equal(counts[0]);
    expect(counts[2]).to.equal(counts[0]);
    r.model.dispose();
    expect(tf.memory().numTensors).to.equal(before);
  });

  it('data-parallel workers are deterministic and agree with the same global batches', async () => {
    const cfg = { ...base, model: 'cnn' as const, train_epochs: 2, workers: 2 };
    const nParams = createModel('cnn').countParams();
    const one = await trainParallel(cfg, data, 2, 'wasm', nParams, {});
    const two = await trainParallel(cfg, data, 2, 'wasm', nParams, {});
    expect(one.history.map((h) => h.loss)).to.deep.equal(two.history.map((h) => h.loss));
    expect(one.history[1].val_accuracy).to.be.greaterThan(0.5);
    expect(Buffer.from(one.artifacts.weightData as ArrayBuffer).equals(Buffer.from(two.artifacts.weightData as ArrayBuffer))).to.equal(true);
  });

  it('saves in the tfjs layers format and loads it back with the same predictions', async () => {
    const t = tempDir();
    try {
      const { model } = trainReplica({ ...base, model: 'lenet5' }, data, new LocalComm());
      writeModel(t.dir, await modelArtifacts(model), { train_config: base });
      const { model: loaded, json } = await loadModel(t.dir);
      expect(json.userDefinedMetadata!.train_config).to.deep.equal(base);
      const x = tf.randomUniform([3, 28, 28, 1]);
      const p1 = (model.predict(x) as tf.Tensor).arraySync();
      const p2 = (loaded.predict(x) as tf.Tensor).arraySync();
      expect(p2).to.deep.equal(p1);
      tf.dispose([x, model, loaded] as unknown as tf.Tensor[]);
    } finally {
      t.cleanup();
    }
  });

  it('train task: writes model.json, weights.bin and per-epoch JSON lines; rejects bad train_config keys', async () => {
    const t = tempDir();
    try {
      const dataDir = join(t.dir, 'data');
      writeMnistData(dataDir, toySplit(100));
      const cfgFile = join(t.dir, 'train.yaml');
      writeFileSync(cfgFile, 'model: mlp\ntrain_epochs: 2\nbatch_size: 50\nseed: 3\nworkers: 1\n');
      const log = quietLogger('train');
      await runTrain({ dataDir, trainConfig: cfgFile, modelDir: join(t.dir, 'model'), logDir: join(t.dir, 'logs') }, log);
      const lines = (await import('node:fs'))
        .readFileSync(join(t.dir, 'logs', 'train-metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines).to.have.length(2);
      expect(lines[1]).to.include.keys('loss', 'accuracy', 'val_loss', 'val_accuracy', 'images_per_s');
      expect(log.lines.join('')).to.match(/backend (wasm|tensorflow)/);
      writeFileSync(cfgFile, 'model: mlp\nepochs: 2\n');
      let msg = '';
      await runTrain({ dataDir, trainConfig: cfgFile, modelDir: join(t.dir, 'model') }, log).catch((e: Error) => {
        msg = e.message;
      });
      expect(msg).to.match(/train\.yaml:2:1: key "epochs": unknown key/);
      writeFileSync(cfgFile, 'model: resnet\noptimizer: adam\n');
      await runTrain({ dataDir, trainConfig: cfgFile, modelDir: join(t.dir, 'model') }, log).catch((e: Error) => {
        msg = e.message;
      });
      expect(msg).to.match(/train\.yaml:1:1: key "model": value not allowed; found "resnet"; expected one of "mlp", "cnn", "lenet5", "shallow_net", "mnist_mlp_v1"/);
      writeFileSync(cfgFile, 'learning_rate: -1\n');
      await runTrain({ dataDir, trainConfig: cfgFile, modelDir: join(t.dir, 'model') }, log).catch((e: Error) => {
        msg = e.message;
      });
      expect(msg).to.match(/train\.yaml:1:1: key "learning_rate": bad value; found -1/);
    } finally {
      t.cleanup();
    }
  });
});
