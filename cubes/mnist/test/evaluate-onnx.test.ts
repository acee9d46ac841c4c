import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { runEvaluate } from '../src/evaluate/task.js';
import { selectBackend } from '../src/model/backend.js';
import { modelArtifacts, writeModel } from '../src/model/io.js';
import { LocalComm } from '../src/train/comm.js';
import { trainReplica } from '../src/train/loop.js';
import { quietLogger, tempDir, toySplit, trainConfig, writeMnistData } from './helpers.js';

describe('mnist cube: evaluate on ONNX Runtime (eval_config backend: onnx)', function () {
  this.timeout(60000);
  after(async () => {
    await tf.setBackend('cpu');
  });

  it('scores the same confusion matrix and loss as TensorFlow.js and records backend onnx; bad eval_config keys are located', async () => {
    const t = tempDir();
    try {
      await selectBackend('wasm');
      const data = toySplit(200);
      const { model } = trainReplica(trainConfig({ model: 'lenet5', model_id: 'mnist_lenet5_v1', train_epochs: 1, validation_split: 0, seed: 1 }), data, new LocalComm());
      writeModel(join(t.dir, 'model'), await modelArtifacts(model), { model_id: 'mnist_lenet5_v1' });
      model.dispose();
      writeMnistData(join(t.dir, 'data'), data);
      const params = { dataDir: join(t.dir, 'data'), modelDir: join(t.dir, 'model'), speedSeconds: 0.1 };
      const read = (d: string) => JSON.parse(readFileSync(join(t.dir, d, 'metrics.json'), 'utf8'));
      // No eval_config file (the optional input absent): TensorFlow.js, as before.
      await runEvaluate({ ...params, metricsDir: join(t.dir, 'm-tfjs'), evalConfig: join(t.dir, 'evaluate.yaml') }, quietLogger('evaluate'));
      writeFileSync(join(t.dir, 'evaluate.yaml'), 'backend: onnx\n');
      const log = quietLogger('evaluate');
      await runEvaluate({ ...params, metricsDir: join(t.dir, 'm-onnx'), evalConfig: join(t.dir, 'evaluate.yaml') }, log);
      const [a, b] = [read('m-tfjs'), read('m-onnx')];
      expect([a.backend, b.backend]).to.deep.equal(['wasm', 'onnx']);
      expect(b.confusion_matrix).to.deep.equal(a.confusion_matrix);
      expect(b.loss).to.be.closeTo(a.loss, 1e-5);
      expect(b.model_id).to.equal('mnist_lenet5_v1');
      expect(b.throughput_images_per_s_batch256).to.be.greaterThan(0);
      expect(log.lines.join('')).to.match(/running the model on ONNX Runtime \d+\.\d+\.\d+ \(onnxruntime-node, CPU, \d+ threads?\)/);
      writeFileSync(join(t.dir, 'evaluate.yaml'), '# eval\nbackend: onxx\n');
      let msg = '';
      await runEvaluate({ ...params, metricsDir: join(t.dir, 'm-bad'), evalConfig: join(t.dir, 'evaluate.yaml') }, log).catch((e: Error) => {
        msg = e.message;
      });
      expect(msg).to.match(/evaluate\.yaml:2:1: key "backend": value not allowed; found "onxx"; expected one of "auto", "tensorflow", "wasm", "cpu", "onnx"/);
    } finally {
      t.cleanup();
    }
  });
});
