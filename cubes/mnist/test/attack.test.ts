import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { readAttackConfig } from '../src/attack/config.js';
import { fgm, gradientSign, greyLevels, pgd, toBytes } from '../src/attack/fgm.js';
import { runAttack } from '../src/attack/task.js';
import { readAdversarialSet, readManifest } from '../src/data/adversarial.js';
import { runInfer } from '../src/infer/task.js';
import { createModel, MODEL_NAMES } from '../src/model/architectures.js';
import { batchTensors } from '../src/model/batch.js';
import { modelArtifacts, writeModel } from '../src/model/io.js';
import { lossGradient, logitsOf } from '../src/model/logits.js';
import { LocalComm } from '../src/train/comm.js';
import { trainReplica } from '../src/train/loop.js';
import { quietLogger, tempDir, toySplit, trainConfig, writeMnistData } from './helpers.js';

/** A 4-input dense net (4 → 5 sigmoid → 3 softmax) with seeded weights, and its loss in plain double arithmetic. */
function tinyNet(seed: number) {
  const m = tf.sequential();
  m.add(
    tf.layers.dense({
      inputShape: [4],
      units: 5,
      activation: 'sigmoid',
      kernelInitializer: tf.initializers.randomNormal({ stddev: 1.5, seed }),
      biasInitializer: tf.initializers.randomNormal({ seed: seed + 1 }),
    }),
  );
  m.add(
    tf.layers.dense({
      units: 3,
      activation: 'softmax',
      kernelInitializer: tf.initializers.randomNormal({ stddev: 1.5, seed: seed + 2 }),
      biasInitializer: tf.initializers.randomNormal({ seed: seed + 3 }),
    }),
  );
  const [w1, b1, w2, b2] = m.getWeights().map((w) => Array.from(w.dataSync()));
  /** -log softmax(z)[y], computed independently of TensorFlow.js in float64. */
  const loss = (x: number[], y: number): number => {
    const h = [0, 1, 2, 3, 4].map((j) => 1 / (1 + Math.exp(-(b1[j] + x.reduce((a, xi, i) => a + xi * w1[i * 5 + j], 0)))));
    const z = [0, 1, 2].map((k) => b2[k] + h.reduce((a, hj, j) => a + hj * w2[j * 3 + k], 0));
    const max = Math.max(...z);
    return -(z[y] - max - Math.log(z.reduce((a, zk) => a + Math.exp(zk - max), 0)));
  };
  return { model: m, loss };
}

const oneHot = (ys: number[], n: number) => tf.oneHot(tf.tensor1d(ys, 'int32'), n).toFloat() as tf.Tensor2D;

describe('mnist cube: adversarial attacks (FGM, PGD)', function () {
  this.timeout(120000);
  before(async () => {
    await tf.setBackend('cpu');
  });

  // A central difference in float64 on the net's own weights: the gradient the attack follows is the loss's.
  const points: [string, number[], number, number][] = [
    ['mid-range inputs, class 0', [0.2, 0.5, 0.7, 0.1], 0, 1],
    ['mid-range inputs, class 2', [0.9, 0.3, 0.4, 0.6], 2, 2],
    ['corner inputs, class 1', [0, 1, 0, 1], 1, 3],
    ['another net', [0.5, 0.5, 0.5, 0.5], 1, 4],
  ];
  for (const [what, x, y, seed] of points) {
    it(`FGM's gradient sign matches a central finite difference of the loss on a tiny net: ${what}`, () => {
      const { model, loss } = tinyNet(seed);
      const h = 1e-5;
      const fd = x.map(
        (_, i) =>
          (loss(
            x.map((v, j) => (j === i ? v + h : v)),
            y,
          ) -
            loss(
              x.map((v, j) => (j === i ? v - h : v)),
              y,
            )) /
          (2 * h),
      );
      const xt = tf.tensor2d([x]);
      const g = Array.from(lossGradient(logitsOf(model), xt, oneHot([y], 3)).dataSync());
      const s = Array.from(gradientSign(logitsOf(model), xt, oneHot([y], 3)).dataSync());
      expect(
        fd.some((d) => Math.abs(d) > 1e-3),
        'the check has gradients to compare',
      ).to.equal(true);
      fd.forEach((d, i) => {
        expect(g[i], `d loss / d x${i}`).to.be.closeTo(d, 1e-4 + 1e-3 * Math.abs(d));
        if (Math.abs(d) > 1e-4) expect(s[i], `sign of d loss / d x${i}`).to.equal(Math.sign(d));
      });
      // One FGM step of 0.01 raises the loss by about eps * |grad|_1, as the first-order expansion says.
      const adv = Array.from(fgm(logitsOf(model), xt, oneHot([y], 3), 0.01).dataSync());
      const l1 = fd.reduce((a, d, i) => a + (x[i] + 0.01 * Math.sign(d) >= 0 && x[i] + 0.01 * Math.sign(d) <= 1 ? Math.abs(d) : 0), 0);
      expect(loss(adv, y) - loss(x, y)).to.be.closeTo(0.01 * l1, 0.01 * l1 * 0.2 + 1e-6);
      model.dispose();
    });
  }

  it('the logits the attack differentiates are those of the trained softmax: softmax(logits) = predict, for every architecture', () => {
    const [x] = batchTensors(toySplit(4), [0, 1, 2, 3]);
    for (const name of MODEL_NAMES) {
      const m = createModel(name, 3);
      const p = m.predict(x) as tf.Tensor;
      const diff = tf.max(tf.abs(tf.sub(tf.softmax(logitsOf(m)(x)), p))).dataSync()[0];
      expect(diff, name).to.be.below(1e-6);
      m.dispose();
    }
  });

  it('a model without a softmax Dense at the end has no logits to attack (named, with the fix)', () => {
    const m = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 3 })] });
    expect(() => logitsOf(m)).to.throw(/has no logits to attack; found last layer Dense \(linear\).*Fix: attack a model trained by this cube/);
  });

  // Every eps and attack: within eps of the clean image (L∞) and inside the pixel range, as floats and as stored bytes.
  const budgets = [0, 0.02, 0.1, 0.3, 1];
  for (const attack of ['fgm', 'pgd', 'pgd random start'] as const) {
    it(`${attack}: every perturbation stays within eps (L∞) and every pixel within [0, 1], for eps ${budgets.join(', ')}`, () => {
      const data = toySplit(40, 5);
      const model = createModel('shallow_net', 2);
      const logits = logitsOf(model);
      const idx = Array.from({ length: data.count }, (_, i) => i);
      const [x, y] = batchTensors(data, idx);
      const xs = x.dataSync();
      for (const eps of budgets) {
        const a = attack === 'fgm' ? fgm(logits, x, y, eps) : pgd(logits, x, y, { eps, steps: 5, stepSize: eps / 2, randomStartSeed: attack === 'pgd' ? undefined : 9 });
        const as = a.dataSync() as Float32Array;
        let maxDelta = 0;
        as.forEach((v, i) => {
          maxDelta = Math.max(maxDelta, Math.abs(v - xs[i]));
          if (v < 0 || v > 1) expect.fail(`pixel ${i} = ${v} outside [0, 1] at eps ${eps}`);
        });
        expect(maxDelta, `eps ${eps}`).to.be.at.most(eps + 1e-6);
        if (eps > 0 && eps < 1) expect(maxDelta, `eps ${eps} perturbs at all`).to.be.above(eps / 2);
        const bytes = toBytes(data.images, as, eps);
        let maxLevels = 0;
        bytes.forEach((b, i) => (maxLevels = Math.max(maxLevels, Math.abs(b - data.images[i]))));
        expect(maxLevels / 255, `stored, eps ${eps}`).to.be.at.most(eps + 1e-6);
        expect(maxLevels, `stored, eps ${eps}`).to.equal(attack === 'fgm' || eps === 0 ? greyLevels(eps) : maxLevels);
        a.dispose();
      }
      tf.dispose([x, y]);
      model.dispose();
    });
  }

  it('whole grey levels within eps: 0 → 0, 0.05 → 12, 0.1 → 25, 0.2 → 51, 0.3 → 76, 1 → 255', () => {
    expect([0, 0.05, 0.1, 0.2, 0.3, 1].map(greyLevels)).to.deep.equal([0, 12, 25, 51, 76, 255]);
  });

  it('PGD with a random start is seeded: the same seed gives the same images, another seed others', () => {
    const data = toySplit(30, 8);
    const model = createModel('shallow_net', 4);
    const [x, y] = batchTensors(
      data,
      Array.from({ length: data.count }, (_, i) => i),
    );
    const o = { eps: 0.1, steps: 4, stepSize: 0.03, randomStartSeed: 3 };
    const a = pgd(logitsOf(model), x, y, o).dataSync();
    const b = pgd(logitsOf(model), x, y, o).dataSync();
    const c = pgd(logitsOf(model), x, y, { ...o, randomStartSeed: 4 }).dataSync();
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).to.equal(true);
    expect(Buffer.from(a.buffer).equals(Buffer.from(c.buffer))).to.equal(false);
    model.dispose();
  });

  describe('attack_config (attack.yaml): located errors', () => {
    const cases: [string, string, RegExp][] = [
      [
        'an unknown key',
        'attack: fgm\neps: [0.1]\nepsilon: 0.3\n',
        /attack\.yaml:3:1: key "epsilon": unknown key; expected one of the keys in the schema\. Fix: edit attack_config; allowed keys and values are in schemas\/mnist-attack-config\.schema\.json/,
      ],
      ['an eps above 1', 'eps: [0.1, 1.5]\n', /attack\.yaml:1:12: key "eps\.1": bad value; found 1\.5; expected a value that must be <= 1/],
      ['a negative eps', 'eps: [-0.1]\n', /key "eps\.0": bad value; found -0\.1; expected a value that must be >= 0/],
      ['an eps that is no number', 'eps: [big]\n', /key "eps\.0": bad value; found "big"; expected a value that must be number/],
      ['no eps at all', 'attack: fgm\n', /attack\.yaml:1:1: key "eps": missing key/],
      ['an empty eps list', 'eps: []\n', /key "eps": bad value; found \[\]; expected a value that must NOT have fewer than 1 items/],
      ['the same eps twice', 'eps: [0.1, 0.1]\n', /key "eps": bad value; found \[0\.1,0\.1\]; expected a value that must NOT have duplicate items/],
      ['an unknown attack', 'attack: cw\neps: [0.1]\n', /attack\.yaml:1:1: key "attack": value not allowed; found "cw"; expected one of "fgm", "pgd"/],
      [
        'a pgd key with fgm',
        'attack: fgm\neps: [0.1]\nsteps: 5\n',
        /attack\.yaml:3:1: key "steps": steps has no effect with attack fgm; found 5; expected attack: pgd, or no steps\. Fix: set attack: pgd or remove steps/,
      ],
      ['an L2 norm', 'norm: 2\neps: [0.1]\n', /key "norm": value not allowed; found 2; expected one of "inf"/],
    ];
    for (const [what, text, want] of cases) {
      it(`${what} is an error naming file:line:col, the key and the value`, () => {
        const t = tempDir();
        try {
          writeFileSync(join(t.dir, 'attack.yaml'), text);
          expect(() => readAttackConfig(join(t.dir, 'attack.yaml'))).to.throw(want);
        } finally {
          t.cleanup();
        }
      });
    }

    it('defaults: fgm, L∞, batches of 250; pgd fills in 10 steps and no random start', () => {
      const t = tempDir();
      try {
        writeFileSync(join(t.dir, 'a.yaml'), 'eps: [0.1]\n');
        expect(readAttackConfig(join(t.dir, 'a.yaml'))).to.deep.equal({ attack: 'fgm', norm: 'inf', eps: [0.1], seed: 0, batch_size: 250, backend: 'auto' });
        writeFileSync(join(t.dir, 'a.yaml'), 'attack: pgd\neps: [0.1]\n');
        expect(readAttackConfig(join(t.dir, 'a.yaml'))).to.deep.include({ attack: 'pgd', steps: 10, random_start: false });
      } finally {
        t.cleanup();
      }
    });
  });

  it('attack then infer: eps 0 reproduces the clean accuracy exactly (the clean bytes, success rate 0); a larger eps lowers the white-box accuracy', async () => {
    const t = tempDir();
    try {
      const data = toySplit(200, 3);
      writeMnistData(join(t.dir, 'data'), data);
      const { model } = trainReplica(trainConfig({ model: 'shallow_net', model_id: 'mnist_shallow_net_v1', train_epochs: 3, validation_split: 0, backend: 'cpu' }), data, new LocalComm());
      writeModel(join(t.dir, 'model'), await modelArtifacts(model), { model_id: 'mnist_shallow_net_v1' });
      model.dispose();
      writeFileSync(join(t.dir, 'attack.yaml'), 'eps: [0, 0.3]\nbatch_size: 64\nbackend: cpu\n');
      const manifest = await runAttack(
        { dataDir: join(t.dir, 'data'), attackConfig: join(t.dir, 'attack.yaml'), models: [{ name: 'toy', path: join(t.dir, 'model') }], adversarialDir: join(t.dir, 'adv') },
        quietLogger('attack'),
      );
      expect(manifest.sets.map((s) => [s.source, s.eps, s.file, s.effective_eps])).to.deep.equal([
        ['toy', 0, 'toy/fgm-eps0.npz', 0],
        ['toy', 0.3, 'toy/fgm-eps0.3.npz', 76 / 255],
      ]);
      expect(Object.keys(manifest.sets[0].model_sha256)).to.deep.equal(['model.json', 'weights.bin']);
      expect(Buffer.from(readAdversarialSet(join(t.dir, 'adv'), manifest.sets[0]).images).equals(Buffer.from(data.images))).to.equal(true);
      const scores = await runInfer(
        { dataDir: join(t.dir, 'data'), adversarialDir: join(t.dir, 'adv'), model: { name: 'toy', path: join(t.dir, 'model') }, scoresDir: join(t.dir, 'scores') },
        quietLogger('infer'),
      );
      expect(scores.clean_accuracy).to.be.above(0.5);
      const [zero, big] = scores.cells;
      expect(zero).to.deep.include({ eps: 0, accuracy: scores.clean_accuracy, attack_success_rate: 0, white_box: true });
      expect(big.accuracy).to.be.below(scores.clean_accuracy);
      expect(JSON.parse(readFileSync(join(t.dir, 'scores', 'scores.json'), 'utf8'))).to.deep.equal(scores);
      expect(readManifest(join(t.dir, 'adv'))).to.deep.equal(manifest);

      // Fail closed: a set changed after the attack wrote it is refused.
      const file = join(t.dir, 'adv', manifest.sets[1].file);
      const bytes = readFileSync(file);
      bytes[bytes.length - 30] ^= 1;
      writeFileSync(file, bytes);
      let msg = '';
      await runInfer({ dataDir: join(t.dir, 'data'), adversarialDir: join(t.dir, 'adv'), model: { name: 'toy', path: join(t.dir, 'model') }, scoresDir: join(t.dir, 's2') }, quietLogger()).catch(
        (e: Error) => {
          msg = e.message;
        },
      );
      expect(msg).to.match(/fgm-eps0\.3\.npz: changed since the attack wrote it; found sha256 [0-9a-f]{64}; expected sha256 [0-9a-f]{64} \(manifest\.json\)\. Fix: run the attack task again/);
    } finally {
      t.cleanup();
    }
  });
});
