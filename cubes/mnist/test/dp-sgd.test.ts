import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { clipByGlobalNorm, clippedGradientSum, noisyAverage } from '../src/privacy/dp-sgd.js';
import { poissonSample, standardNormals } from '../src/privacy/sampling.js';
import { mulberry32 } from '../src/train/rng.js';

const norm = (xs: ArrayLike<number>[]) => Math.sqrt(xs.reduce((s, a) => s + Array.from(a).reduce((t, v) => t + v * v, 0), 0));

describe('mnist cube: DP-SGD (clipping, noise, Poisson sampling)', function () {
  this.timeout(60000);
  before(async () => {
    await tf.setBackend('cpu');
  });

  const clipCases = [
    { name: 'below C: unchanged', grads: [[0.3, -0.4], [0]], clip: 1, norm: 0.5 },
    { name: 'exactly C: unchanged', grads: [[3, 4], [0]], clip: 5, norm: 5 },
    { name: 'above C: scaled to C', grads: [[3, 4], [12]], clip: 1, norm: 13 },
    { name: 'zero gradient', grads: [[0, 0], [0]], clip: 1, norm: 0 },
  ];
  for (const c of clipCases) {
    it(`clipByGlobalNorm, ${c.name}: the norm over all tensors, the result's norm min(norm, C) in the same direction`, () => {
      const ts = c.grads.map((g) => tf.tensor1d(g));
      const { clipped, norm: n } = clipByGlobalNorm(ts, c.clip);
      const out = clipped.map((t) => Array.from(t.dataSync()));
      expect(n).to.be.closeTo(c.norm, 1e-6);
      expect(norm(out)).to.be.closeTo(Math.min(c.norm, c.clip), 1e-6);
      const scale = c.norm > c.clip ? c.clip / c.norm : 1;
      out.forEach((g, j) => g.forEach((v, i) => expect(v).to.be.closeTo(c.grads[j][i] * scale, 1e-6)));
      tf.dispose([...ts, ...clipped]);
    });
  }

  it('with sigma = 0 the SGD update is minus the mean of the per-example gradients clipped to C, computed by hand for softmax regression', () => {
    // One dense softmax layer: the cross-entropy gradient of example i is dW = x_i (p_i - y_i)^T, db = p_i - y_i.
    const [nIn, nOut, n, clip] = [4, 3, 6, 1.5];
    const rand = mulberry32(11);
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [nIn], units: nOut, activation: 'softmax', kernelInitializer: tf.initializers.randomNormal({ seed: 3 }) })] });
    const xs = Array.from({ length: n }, () => Array.from({ length: nIn }, () => 4 * rand() - 2));
    const labels = Array.from({ length: n }, (_, i) => i % nOut);
    const ys = labels.map((l) => Array.from({ length: nOut }, (_, k) => (k === l ? 1 : 0)));
    const kernel = model.getWeights()[0].arraySync() as number[][];
    const bias = model.getWeights()[1].arraySync() as number[];
    const expected = { dW: kernel.map((r) => r.map(() => 0)), db: bias.map(() => 0) };
    let clippedSome = 0;
    for (let i = 0; i < n; i++) {
      const logits = bias.map((b, k) => b + xs[i].reduce((s, v, j) => s + v * kernel[j][k], 0));
      const m = Math.max(...logits);
      const e = logits.map((l) => Math.exp(l - m));
      const p = e.map((v) => v / e.reduce((a, b) => a + b, 0));
      const d = p.map((v, k) => v - ys[i][k]);
      const dW = xs[i].map((xv) => d.map((dv) => xv * dv));
      const g = norm([...dW, d]);
      const f = Math.min(1, clip / g);
      if (f < 1) clippedSome++;
      dW.forEach((r, j) => r.forEach((v, k) => (expected.dW[j][k] += (f * v) / n)));
      d.forEach((v, k) => (expected.db[k] += (f * v) / n));
    }
    expect(clippedSome, 'the case must clip some examples and not others').to.be.within(1, n - 1);
    const vars = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
    const x = tf.tensor2d(xs);
    const y = tf.tensor2d(ys);
    const r = clippedGradientSum(model, { loss: 'categorical_crossentropy' }, x, y, vars, clip);
    const flat = new Float32Array([...r.sums[0].dataSync(), ...r.sums[1].dataSync()]);
    const update = noisyAverage(flat, clip, 0, n, mulberry32(1));
    const before = vars.map((v) => Array.from(v.dataSync()));
    const opt = tf.train.sgd(1);
    opt.applyGradients({ [vars[0].name]: tf.tensor(update.subarray(0, nIn * nOut), [nIn, nOut]), [vars[1].name]: tf.tensor(update.subarray(nIn * nOut)) });
    const moved = vars.map((v, j) => Array.from(v.dataSync()).map((w, i) => before[j][i] - w));
    expected.dW.flat().forEach((v, i) => expect(moved[0][i]).to.be.closeTo(v, 1e-6));
    expected.db.forEach((v, i) => expect(moved[1][i]).to.be.closeTo(v, 1e-6));
    expect(r.correct).to.be.within(0, n);
    tf.dispose([x, y, ...r.sums]);
    model.dispose();
    opt.dispose();
  });

  it('noise: (sum + N(0, sigma^2 C^2)) / B has mean sum/B and standard deviation sigma C / B over 200,000 draws (seeded: the bounds are 5+ standard errors wide)', () => {
    const [n, clip, sigma, batch] = [200000, 0.7, 1.3, 50];
    const sum = new Float32Array(n).fill(2);
    const out = noisyAverage(sum, clip, sigma, batch, mulberry32(5));
    let mean = 0;
    out.forEach((v) => (mean += v / n));
    let variance = 0;
    out.forEach((v) => (variance += (v - mean) ** 2 / (n - 1)));
    const sd = (sigma * clip) / batch;
    // Standard error of the mean sd/sqrt(n) = 4.1e-5; of the sd about sd/sqrt(2n) = 2.9e-5.
    expect(mean).to.be.closeTo(2 / batch, 5 * (sd / Math.sqrt(n)));
    expect(Math.sqrt(variance)).to.be.closeTo(sd, 5 * (sd / Math.sqrt(2 * n)));
    // Same seed, same noise: replicas agree.
    expect(Array.from(noisyAverage(sum.subarray(0, 10), clip, sigma, batch, mulberry32(5)))).to.deep.equal(Array.from(out.subarray(0, 10)));
  });

  it('standard normals: the fraction within 1 and 2 standard deviations (68.27 %, 95.45 %)', () => {
    const z = standardNormals(100001, mulberry32(9));
    const within = (k: number) => z.filter((v) => Math.abs(v) < k).length / z.length;
    expect(within(1)).to.be.closeTo(0.6827, 0.0075);
    expect(within(2)).to.be.closeTo(0.9545, 0.0035);
  });

  it('Poisson sampling: each example independently with rate q; the sizes vary around qN with variance qN(1-q)', () => {
    const pool = Uint32Array.from({ length: 1000 }, (_, i) => i * 3);
    const rand = mulberry32(4);
    const sizes: number[] = [];
    const hits = new Array(1000).fill(0);
    for (let t = 0; t < 2000; t++) {
      const b = poissonSample(pool, 0.05, rand);
      sizes.push(b.length);
      b.forEach((v) => (hits[v / 3] += 1));
      expect(b.every((v) => v % 3 === 0)).to.equal(true);
    }
    const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length;
    const variance = sizes.reduce((a, b) => a + (b - mean) ** 2, 0) / (sizes.length - 1);
    expect(mean).to.be.closeTo(50, 5 * Math.sqrt(47.5 / 2000));
    expect(variance).to.be.closeTo(47.5, 0.2 * 47.5);
    expect(new Set(sizes).size).to.be.greaterThan(10);
    // every example's inclusion count ~ Binomial(2000, 0.05): mean 100, sd 9.7
    expect(Math.min(...hits)).to.be.greaterThan(50);
    expect(Math.max(...hits)).to.be.lessThan(150);
  });
});
