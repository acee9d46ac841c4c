import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { modelArtifacts, writeModel } from '../src/model/io.js';
import { classMetrics, runEvaluate } from '../src/evaluate/task.js';
import { selectBackend } from '../src/model/backend.js';
import { LocalComm } from '../src/train/comm.js';
import { trainReplica } from '../src/train/loop.js';
import { quietLogger, tempDir, toySplit, trainConfig, writeMnistData } from './helpers.js';

describe('mnist cube: evaluate task', function () {
  this.timeout(60000);
  after(async () => {
    await tf.setBackend('cpu');
  });

  it('writes metrics.json with accuracy, per-class accuracy, confusion matrix, loss, latency and throughput', async () => {
    const t = tempDir();
    try {
      await selectBackend('wasm');
      const data = toySplit(200);
      const { model } = trainReplica(trainConfig({ model: 'mlp', model_id: 'mnist_mlp_v1', train_epochs: 2, validation_split: 0, seed: 1 }), data, new LocalComm());
      writeModel(join(t.dir, 'model'), await modelArtifacts(model), { train_config: { model: 'mlp' } });
      model.dispose();
      writeMnistData(join(t.dir, 'data'), data);
      const rowsFile = join(t.dir, 'rows.jsonl');
      process.env.MLCUBE_METRICS_FILE = rowsFile;
      try {
        await runEvaluate({ dataDir: join(t.dir, 'data'), modelDir: join(t.dir, 'model'), metricsDir: join(t.dir, 'metrics'), speedSeconds: 0.1 }, quietLogger('evaluate'));
      } finally {
        delete process.env.MLCUBE_METRICS_FILE;
      }
      const m = JSON.parse(readFileSync(join(t.dir, 'metrics', 'metrics.json'), 'utf8'));
      // The metric rows the runtime's gates read: per class, the worst class, and the median batch-1 latency.
      const rows = new Map(
        readFileSync(rowsFile, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l))
          .map((r) => [r.name, r.value]),
      );
      for (const [c, a] of Object.entries(m.per_class_accuracy)) expect(rows.get(`test_accuracy_class_${c}`), c).to.equal(a);
      expect(rows.get('test_accuracy_min_class')).to.equal(Math.min(...(Object.values(m.per_class_accuracy) as number[])));
      expect(rows.get('test_accuracy')).to.equal(m.accuracy);
      expect(rows.get('latency_ms_batch1')).to.equal(m.latency_ms_batch1.median);
      expect(m).to.include.keys('accuracy', 'loss', 'per_class_accuracy', 'confusion_matrix', 'latency_ms_batch1', 'throughput_images_per_s_batch256', 'backend');
      expect(m.accuracy).to.be.greaterThan(0.9);
      expect(m.confusion_matrix.flat().reduce((a: number, b: number) => a + b, 0)).to.equal(200);
      expect(Object.keys(m.per_class_accuracy)).to.have.length(10);
      expect(m.latency_ms_batch1.median).to.be.greaterThan(0);
      expect(m.train_config).to.deep.equal({ model: 'mlp' });
    } finally {
      t.cleanup();
    }
  });

  it('per-class metrics: one row per class with test images, and the worst class; NaN when a class has none (its gate cannot pass)', () => {
    const table: [Record<string, number | null>, Record<string, number>][] = [
      [
        { 0: 0.9, 1: 0.95 },
        { test_accuracy_class_0: 0.9, test_accuracy_class_1: 0.95, test_accuracy_min_class: 0.9 },
      ],
      [
        { 0: 1, 1: 0.5, 2: 0.75 },
        { test_accuracy_class_0: 1, test_accuracy_class_1: 0.5, test_accuracy_class_2: 0.75, test_accuracy_min_class: 0.5 },
      ],
      [
        { 0: 0.9, 1: null },
        { test_accuracy_class_0: 0.9, test_accuracy_min_class: NaN },
      ],
    ];
    for (const [perClass, want] of table) expect(classMetrics(perClass)).to.deep.equal(want);
  });

  it('names model_dir and the fix when there is no model', async () => {
    const t = tempDir();
    try {
      writeMnistData(join(t.dir, 'data'), toySplit(10));
      let msg = '';
      await runEvaluate({ dataDir: join(t.dir, 'data'), modelDir: join(t.dir, 'none'), metricsDir: join(t.dir, 'm') }, quietLogger()).catch((e: Error) => {
        msg = e.message;
      });
      expect(msg).to.match(/none\/model\.json: cannot read the model \(ENOENT\).*Fix: run the train task/);
    } finally {
      t.cleanup();
    }
  });
});
