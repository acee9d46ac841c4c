import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { MODEL_IDS, MODEL_NAMES } from '../src/model/architectures.js';
import { selectBackend } from '../src/model/backend.js';
import { lossSum } from '../src/model/loss.js';
import { LocalComm } from '../src/train/comm.js';
import { readTrainConfig } from '../src/train/config.js';
import { makeOptimizer, setLearningRate, trainReplica } from '../src/train/loop.js';
import { learningRateAt } from '../src/train/schedule.js';
import { type LrSchedule, TRAIN_CONFIG_SCHEMA, type TrainConfig } from '../src/train/schema.js';
import { tempDir, toySplit, readTrainConfigText } from './helpers.js';

describe('mnist cube: training choices (loss, learning-rate schedule, model ids)', function () {
  this.timeout(120000);

  describe('losses against hand computations', () => {
    const probs = [
      [0.7, 0.2, 0.1],
      [0.3, 0.6, 0.1],
    ];
    const onehot = [
      [1, 0, 0],
      [0, 0, 1],
    ];
    const cases: Array<{ loss: TrainConfig['loss']; focal_gamma?: number; expected: number }> = [
      { loss: 'categorical_crossentropy', expected: -Math.log(0.7) - Math.log(0.1) },
      { loss: 'mse', expected: (0.3 ** 2 + 0.2 ** 2 + 0.1 ** 2) / 3 + (0.3 ** 2 + 0.6 ** 2 + 0.9 ** 2) / 3 },
      // -(1-p)^γ ln p of the true class: 0.3² · 0.35667 + 0.9² · 2.30259 = 0.032100 + 1.865098
      { loss: 'focal', focal_gamma: 2, expected: 1.897198 },
      { loss: 'focal', focal_gamma: 0, expected: -Math.log(0.7) - Math.log(0.1) },
      { loss: 'focal', focal_gamma: 5, expected: 0.3 ** 5 * -Math.log(0.7) + 0.9 ** 5 * -Math.log(0.1) },
    ];
    for (const c of cases) {
      it(`${c.loss}${c.focal_gamma === undefined ? '' : ` gamma ${c.focal_gamma}`}: ${c.expected.toFixed(6)}`, () => {
        const v = tf.tidy(() => lossSum(c, tf.tensor2d(probs), tf.tensor2d(onehot)).dataSync()[0]);
        expect(v).to.be.closeTo(c.expected, 1e-5);
      });
    }
  });

  describe('learning rate per epoch (learning_rate 0.1)', () => {
    const cases: Array<{ schedule: LrSchedule; lrs: number[] }> = [
      { schedule: { type: 'constant' }, lrs: [0.1, 0.1, 0.1, 0.1, 0.1] },
      { schedule: { type: 'step', every_epochs: 2, factor: 0.5 }, lrs: [0.1, 0.1, 0.05, 0.05, 0.025] },
      { schedule: { type: 'exponential', factor: 0.9 }, lrs: [0.1, 0.09, 0.081, 0.0729, 0.06561] },
      { schedule: { type: 'cyclic', min_learning_rate: 0.02, period_epochs: 4 }, lrs: [0.1, 0.06, 0.02, 0.06, 0.1] },
      { schedule: { type: 'cyclic', min_learning_rate: 0.01, period_epochs: 2 }, lrs: [0.1, 0.01, 0.1, 0.01, 0.1] },
    ];
    for (const c of cases) {
      it(JSON.stringify(c.schedule), () => {
        const got = c.lrs.map((_, i) => learningRateAt(0.1, c.schedule, i + 1));
        got.forEach((v, i) => expect(v, `epoch ${i + 1}`).to.be.closeTo(c.lrs[i], 1e-12));
      });
    }
  });

  for (const optimizer of ['adam', 'sgd', 'rmsprop'] as const) {
    it(`${optimizer}: setLearningRate takes effect on the next step (0 leaves the weights, twice the rate moves sgd twice as far)`, () => {
      const step = (lr: number) =>
        tf.tidy(() => {
          const v = tf.variable(tf.tensor1d([1, -2, 3]));
          const opt = makeOptimizer({ optimizer, learning_rate: 0.5 });
          setLearningRate(opt, lr);
          opt.applyGradients({ [v.name]: tf.tensor1d([0.3, 0.1, -0.2]) });
          const moved = Array.from(tf.sub(v, tf.tensor1d([1, -2, 3])).dataSync());
          opt.dispose();
          v.dispose();
          return moved;
        });
      expect(step(0)).to.deep.equal([0, 0, 0]);
      const a = step(0.01);
      expect(a.some((d) => d !== 0)).to.equal(true);
      if (optimizer === 'sgd') step(0.02).forEach((d, i) => expect(d).to.be.closeTo(2 * a[i], 1e-6));
    });
  }

  it('trains with each loss and a schedule: metrics record the learning rate of every epoch and the toy task is learnt', async () => {
    await selectBackend('wasm');
    const data = toySplit(320);
    const base: TrainConfig = {
      model: 'mlp',
      model_id: 'mnist_mlp_v1',
      loss: 'categorical_crossentropy',
      optimizer: 'adam',
      learning_rate: 0.004,
      lr_schedule: { type: 'step', every_epochs: 2, factor: 0.5 },
      train_epochs: 3,
      batch_size: 32,
      validation_split: 0.2,
      seed: 7,
      backend: 'wasm',
      workers: 1,
    };
    const losses: number[] = [];
    for (const loss of [{ loss: 'categorical_crossentropy' }, { loss: 'mse' }, { loss: 'focal', focal_gamma: 2 }] as const) {
      const { model, history } = trainReplica({ ...base, ...loss }, data, new LocalComm());
      model.dispose();
      expect(history.map((h) => h.learning_rate)).to.deep.equal([0.004, 0.004, 0.002]);
      expect(history[2].val_accuracy, loss.loss).to.be.greaterThan(0.9);
      losses.push(history[0].loss);
    }
    expect(new Set(losses).size, 'each loss gives its own values').to.equal(3);
    await tf.setBackend('cpu');
  });

  it('the schema lists every architecture and model id; ids resolve to their architecture and bare names to the current id', () => {
    expect(TRAIN_CONFIG_SCHEMA.properties.model.then.enum).to.deep.equal([...MODEL_NAMES, ...Object.keys(MODEL_IDS)]);
    const t = tempDir();
    try {
      const f = join(t.dir, 'train.yaml');
      const table: Array<[string, string, string]> = [
        ['model: mnist_cnn_v1\n', 'cnn', 'mnist_cnn_v1'],
        ['model: lenet5\n', 'lenet5', 'mnist_lenet5_v1'],
        ['{}\n', 'cnn', 'mnist_cnn_v1'],
      ];
      for (const [text, model, id] of table) {
        writeFileSync(f, text);
        const c = readTrainConfig(f);
        expect([c.model, c.model_id], text).to.deep.equal([model, id]);
      }
      writeFileSync(f, 'loss: focal\n');
      expect(readTrainConfig(f)).to.include({ loss: 'focal', focal_gamma: 2 });
      writeFileSync(f, 'loss: mse\n');
      expect(readTrainConfig(f)).to.not.have.property('focal_gamma');
    } finally {
      t.cleanup();
    }
  });

  describe('train.yaml errors name file:line:col, the key, the value and the fix', () => {
    const cases: Array<[string, RegExp]> = [
      ['loss: hinge\n', /train\.yaml:1:1: key "loss": value not allowed; found "hinge"; expected one of "categorical_crossentropy", "mse", "focal"/],
      ['loss: mse\nfocal_gamma: 3\n', /train\.yaml:2:1: key "focal_gamma": focal_gamma has no effect with loss mse; found 3; expected loss: focal.*Fix: set loss: focal or remove focal_gamma/],
      ['loss: focal\nfocal_gamma: -1\n', /train\.yaml:2:1: key "focal_gamma": bad value; found -1; expected a value that must be >= 0/],
      ['seed: 1\nlr_schedule: {type: stepp}\n', /train\.yaml:2:15: key "lr_schedule.type": value not allowed; found "stepp"; expected one of "constant", "step", "exponential", "cyclic"/],
      ['lr_schedule:\n  type: step\n  every_epochs: 2\n', /train\.yaml:1:1: key "lr_schedule.factor": missing key/],
      ['lr_schedule:\n  type: exponential\n  factor: 0.9\n  decay: 1\n', /train\.yaml:4:3: key "lr_schedule.decay": unknown key/],
      ['lr_schedule:\n  type: exponential\n  factor: 1.5\n', /train\.yaml:3:3: key "lr_schedule.factor": bad value; found 1\.5; expected a value that must be <= 1/],
      ['lr_schedule: {every_epochs: 2}\n', /train\.yaml:1:1: key "lr_schedule.type": missing key/],
      [
        'learning_rate: 0.01\nlr_schedule: {type: cyclic, min_learning_rate: 0.05, period_epochs: 4}\n',
        /train\.yaml:2:29: key "lr_schedule.min_learning_rate": the cycle has no range; found 0\.05; expected a value below learning_rate \(0\.01\)/,
      ],
      ['model: mnist_cnn_v9\n', /train\.yaml:1:1: key "model": value not allowed; found "mnist_cnn_v9"/],
    ];
    for (const [text, re] of cases) {
      it(JSON.stringify(text), () => expect(() => readTrainConfigText(text)).to.throw(re));
    }
  });
});
