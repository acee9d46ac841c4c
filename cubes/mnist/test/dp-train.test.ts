import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/model/backend.js';
import { dpSgdEpsilon } from '../src/privacy/accountant.js';
import { LocalComm } from '../src/train/comm.js';
import { readTrainConfig } from '../src/train/config.js';
import { trainReplica } from '../src/train/loop.js';
import { trainParallel } from '../src/train/parallel.js';
import { runTrain } from '../src/train/task.js';
import { createModel } from '../src/model/architectures.js';
import { quietLogger, tempDir, toySplit, trainConfig, writeMnistData, readTrainConfigText } from './helpers.js';

const CUBE = resolve(fileURLToPath(import.meta.url), '../../..');
const privacy = { l2_norm_clip: 1, noise_multiplier: 0.8, delta: 1e-4 };

describe('mnist cube: differentially private training (train_config privacy)', function () {
  this.timeout(180000);
  const data = toySplit(320);
  // 256 training images, batch 32: q = 1/8, 8 steps an epoch.
  const cfg = trainConfig({ optimizer: 'sgd', learning_rate: 0.5, train_epochs: 3, privacy });
  before(async () => {
    await selectBackend('wasm');
  });
  after(async () => {
    await tf.setBackend('cpu');
  });

  it('reports eps for delta after every epoch, as the accountant gives for q = batch/N and the steps so far; same seed, same weights; learns the toy task', () => {
    const before = tf.memory().numTensors;
    const a = trainReplica(cfg, data, new LocalComm());
    const b = trainReplica(cfg, data, new LocalComm());
    const eps = a.history.map((h) => h.dp_epsilon!);
    expect(eps).to.deep.equal([1, 2, 3].map((e) => dpSgdEpsilon(32 / 256, 0.8, 8 * e, 1e-4).epsilon));
    expect(eps[0]).to.be.greaterThan(0);
    expect(eps[1]).to.be.greaterThan(eps[0]);
    expect(eps[2]).to.be.greaterThan(eps[1]);
    expect(b.history.map((h) => h.loss)).to.deep.equal(a.history.map((h) => h.loss));
    const w = (r: typeof a) => r.model.getWeights().map((t) => Array.from(t.dataSync()));
    expect(w(b)).to.deep.equal(w(a));
    expect(a.history[2].val_accuracy).to.be.greaterThan(0.8);
    expect(a.history[2].num_tensors).to.equal(a.history[0].num_tensors);
    const plain = trainReplica({ ...cfg, privacy: undefined }, data, new LocalComm());
    expect(plain.history[0]).to.not.have.property('dp_epsilon');
    expect(plain.history[0].loss, 'DP-SGD trains differently from SGD').to.not.equal(a.history[0].loss);
    [a, b, plain].forEach((r) => r.model.dispose());
    expect(tf.memory().numTensors).to.equal(before);
  });

  it('with 2 data-parallel workers: deterministic, and the same eps', async () => {
    const c = { ...cfg, model: 'lenet5' as const, train_epochs: 2, workers: 2 };
    const nParams = createModel('lenet5').countParams();
    const one = await trainParallel(c, data, 2, 'wasm', nParams, {});
    const two = await trainParallel(c, data, 2, 'wasm', nParams, {});
    expect(one.history.map((h) => h.loss)).to.deep.equal(two.history.map((h) => h.loss));
    expect(Buffer.from(one.artifacts.weightData as ArrayBuffer).equals(Buffer.from(two.artifacts.weightData as ArrayBuffer))).to.equal(true);
    expect(one.history.map((h) => h.dp_epsilon)).to.deep.equal([1, 2].map((e) => dpSgdEpsilon(32 / 256, 0.8, 8 * e, 1e-4).epsilon));
  });

  it('the train entry on the bundled digits: dp_epsilon metric rows per epoch, the guarantee in model.json and training.json', () => {
    const t = tempDir();
    try {
      const data = join(t.dir, 'data');
      const dl = spawnSync(process.execPath, [join(CUBE, 'dist/main.js'), 'download', `--data_config=${join(CUBE, 'workspace/data.yaml')}`, `--data_dir=${data}`], { encoding: 'utf8' });
      expect(dl.status, dl.stderr).to.equal(0);
      // 850 of the 8,500 training digits (validation_split 0.9) keep the run to seconds.
      const f = join(t.dir, 'train.yaml');
      writeFileSync(
        f,
        'model: mlp\noptimizer: sgd\nlearning_rate: 0.5\ntrain_epochs: 2\nbatch_size: 85\nvalidation_split: 0.9\nseed: 1\nworkers: 1\nprivacy:\n  l2_norm_clip: 1.0\n  noise_multiplier: 1.1\n',
      );
      const metrics = join(t.dir, 'metrics.jsonl');
      const model = join(t.dir, 'model');
      const r = spawnSync(process.execPath, [join(CUBE, 'dist/main.js'), 'train', `--data_dir=${data}`, `--train_config=${f}`, `--model_dir=${model}`], {
        encoding: 'utf8',
        env: { ...process.env, MLCUBE_METRICS_FILE: metrics },
      });
      expect(r.status, r.stderr).to.equal(0);
      const rows = readFileSync(metrics, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { name: string; value: number; step: number })
        .filter((row) => row.name === 'dp_epsilon');
      const expected = [1, 2].map((e) => dpSgdEpsilon(85 / 850, 1.1, 10 * e, 1e-5).epsilon);
      expect(rows.map((row) => [row.step, row.value])).to.deep.equal([
        [1, expected[0]],
        [2, expected[1]],
      ]);
      expect(r.stdout + r.stderr).to.match(/epoch 2\/2: .* dp_epsilon \d+\.\d{4} \(delta 0\.00001\)/);
      const meta = JSON.parse(readFileSync(join(model, 'model.json'), 'utf8')).userDefinedMetadata;
      expect(meta.privacy).to.include({ mechanism: 'dp-sgd', sampling: 'poisson', epsilon: expected[1], delta: 1e-5, steps: 20, training_examples: 850, sampling_rate: 0.1 });
      expect(meta.train_config.privacy).to.deep.equal({ l2_norm_clip: 1, noise_multiplier: 1.1, delta: 1e-5 });
      expect(JSON.parse(readFileSync(join(model, 'training.json'), 'utf8')).privacy.epsilon).to.equal(expected[1]);
    } finally {
      t.cleanup();
    }
  });

  it('warns when delta is not below 1/N', async () => {
    const t = tempDir();
    try {
      writeMnistData(join(t.dir, 'data'), toySplit(40));
      const f = join(t.dir, 'train.yaml');
      writeFileSync(f, 'model: mlp\ntrain_epochs: 1\nbatch_size: 16\nvalidation_split: 0.2\nworkers: 1\nprivacy: {l2_norm_clip: 1, noise_multiplier: 1, delta: 0.05}\n');
      const log = quietLogger('train');
      await runTrain({ dataDir: join(t.dir, 'data'), trainConfig: f, modelDir: join(t.dir, 'model') }, log);
      expect(log.lines.join('')).to.match(/privacy\.delta 0\.05 is not below 1\/N = 0\.0313/);
      writeFileSync(f, 'model: mlp\ntrain_epochs: 1\nbatch_size: 16\nvalidation_split: 0.2\nworkers: 1\nprivacy: {l2_norm_clip: 1, noise_multiplier: 1, delta: 0.01}\n');
      const quiet = quietLogger('train');
      await runTrain({ dataDir: join(t.dir, 'data'), trainConfig: f, modelDir: join(t.dir, 'model') }, quiet);
      expect(quiet.lines.join('')).to.not.match(/not below 1\/N/);
    } finally {
      t.cleanup();
    }
  });

  describe('privacy keys are schema-checked with located errors', () => {
    const cases: Array<[string, RegExp]> = [
      ['privacy:\n  l2_norm_clip: 1\n  noise_multiplier: 1\n  sigma: 2\n', /train\.yaml:4:3: key "privacy.sigma": unknown key/],
      ['privacy:\n  l2_norm_clip: 1\n', /train\.yaml:1:1: key "privacy.noise_multiplier": missing key/],
      ['privacy: {l2_norm_clip: 0, noise_multiplier: 1}\n', /train\.yaml:1:11: key "privacy.l2_norm_clip": bad value; found 0; expected a value that must be > 0/],
      ['privacy: {l2_norm_clip: 1, noise_multiplier: 1, delta: 1}\n', /train\.yaml:1:49: key "privacy.delta": bad value; found 1; expected a value that must be < 1/],
    ];
    for (const [text, re] of cases) {
      it(JSON.stringify(text), () => expect(() => readTrainConfigText(text)).to.throw(re));
    }
    it('delta defaults to 1e-5', () => {
      const t = tempDir();
      try {
        const f = join(t.dir, 'train.yaml');
        writeFileSync(f, 'privacy: {l2_norm_clip: 2, noise_multiplier: 1.5}\n');
        expect(readTrainConfig(f).privacy).to.deep.equal({ l2_norm_clip: 2, noise_multiplier: 1.5, delta: 1e-5 });
      } finally {
        t.cleanup();
      }
    });
  });
});
