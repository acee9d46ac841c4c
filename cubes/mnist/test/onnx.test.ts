import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { checkOnnx, MAX_ABS_DIFF } from '../src/export/check.js';
import { runExport } from '../src/export/task.js';
import { createModel, MODEL_NAMES } from '../src/model/architectures.js';
import { selectBackend } from '../src/model/backend.js';
import { loadModel, modelArtifacts, writeModel } from '../src/model/io.js';
import { toOnnx } from '../src/model/onnx.js';
import { quietLogger, tempDir, toySplit, writeMnistData } from './helpers.js';

/** A model of the architecture with its initial weights and non-zero biases (zeros would hide a bias written wrong). */
function randomModel(name: (typeof MODEL_NAMES)[number], seed = 5): tf.LayersModel {
  const m = createModel(name, seed);
  for (const l of m.layers) {
    const ws = l.getWeights();
    if (ws.length === 2) l.setWeights([ws[0], tf.randomUniform(ws[1].shape, -0.1, 0.1, 'float32', seed)]);
  }
  return m;
}

const writeData = (dir: string, count: number) => writeMnistData(dir, toySplit(count, 3));

describe('mnist cube: ONNX export checked on ONNX Runtime', function () {
  this.timeout(120000);
  // The export task's reference backend (see export/task.ts).
  before(async () => {
    await selectBackend('cpu');
  });

  for (const name of MODEL_NAMES) {
    it(`${name}: ONNX Runtime gives the TensorFlow.js logits (max abs difference <= ${MAX_ABS_DIFF}) and the same class for every image`, async () => {
      const model = randomModel(name);
      const data = toySplit(300, 9);
      const check = await checkOnnx(model, toOnnx(model), data, 128);
      model.dispose();
      expect(check.images).to.equal(300);
      expect(check.max_abs_diff_logits).to.be.at.most(MAX_ABS_DIFF);
      expect(check.same_class).to.equal(300);
      expect(check.passed).to.equal(true);
    });
  }

  it('the check fails for an ONNX model that differs from the TensorFlow.js one by one bias of 1e-3', async () => {
    const model = randomModel('lenet5');
    const onnx = toOnnx(model);
    const last = model.layers[model.layers.length - 1];
    const [w, b] = last.getWeights();
    last.setWeights([w, tf.add(b, tf.tensor1d(Array.from({ length: 10 }, (_, i) => (i === 3 ? 1e-3 : 0))))]);
    const check = await checkOnnx(model, onnx, toySplit(20), 8);
    model.dispose();
    expect(check.passed).to.equal(false);
    expect(check.max_abs_diff_logits).to.be.closeTo(1e-3, 1e-5);
  });

  it('ONNX Runtime runs with its telemetry off: no device id or event store is written under $XDG_CACHE_HOME or $HOME', () => {
    const t = tempDir();
    try {
      // A fresh process: the runtime reads ORT_DISABLE_TELEMETRY once, when it initialises.
      const script = `const { loadOnnx } = await import(${JSON.stringify(new URL('../src/model/onnx-runtime.js', import.meta.url).href)});
        const { toOnnx } = await import(${JSON.stringify(new URL('../src/model/onnx.js', import.meta.url).href)});
        const { createModel } = await import(${JSON.stringify(new URL('../src/model/architectures.js', import.meta.url).href)});
        const m = await loadOnnx(toOnnx(createModel('mlp', 1)), 1);
        await m.run(new Float32Array(784), 1);
        console.log('ran');`;
      const env: NodeJS.ProcessEnv = { ...process.env, HOME: t.dir, XDG_CACHE_HOME: join(t.dir, 'cache') };
      delete env.ORT_DISABLE_TELEMETRY;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env, encoding: 'utf8', cwd: t.dir });
      expect(r.stdout, r.stderr).to.match(/ran/);
      expect(readdirSync(t.dir, { recursive: true })).to.deep.equal([]);
    } finally {
      t.cleanup();
    }
  });

  it('a layer the converter does not know is an error naming the layer, not a wrong graph', () => {
    const m = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [28, 28, 1] }), tf.layers.batchNormalization(), tf.layers.dense({ units: 10, activation: 'softmax' })] });
    expect(() => toOnnx(m)).to.throw(/model layer batch_normalization\w* \(BatchNormalization\): cannot be written as ONNX: layer type not supported/);
    m.dispose();
  });

  it('export task: writes model.onnx, tfjs/ (loadable, same weights) and export.json with the check', async () => {
    const t = tempDir();
    try {
      writeData(join(t.dir, 'data'), 60);
      const model = randomModel('cnn');
      writeModel(join(t.dir, 'model'), await modelArtifacts(model), { model_id: 'mnist_cnn_v1', train_config: { model: 'cnn' } });
      const log = quietLogger('export');
      await runExport({ dataDir: join(t.dir, 'data'), modelDir: join(t.dir, 'model'), exportDir: join(t.dir, 'export') }, log);
      const report = JSON.parse(readFileSync(join(t.dir, 'export', 'export.json'), 'utf8'));
      expect(report.model_id).to.equal('mnist_cnn_v1');
      expect(report.check).to.include({ images: 60, same_class: 60, passed: true });
      expect(report.onnx.bytes).to.equal(readFileSync(join(t.dir, 'export', 'model.onnx')).length);
      const { model: back } = await loadModel(join(t.dir, 'export', 'tfjs'));
      const x = tf.randomUniform([2, 28, 28, 1], 0, 1, 'float32', 1);
      expect(Array.from((back.predict(x) as tf.Tensor).dataSync())).to.deep.equal(Array.from((model.predict(x) as tf.Tensor).dataSync()));
      expect(log.lines.join('')).to.match(/ONNX check passed: max \|logit difference\| .* same class on 60\/60 test images/);
      tf.dispose([x, model, back] as unknown as tf.Tensor[]);
      expect(existsSync(join(t.dir, 'export', 'tfjs', 'weights.bin'))).to.equal(true);
    } finally {
      t.cleanup();
    }
  });
});
