import { expect } from 'chai';
import { dpSgdAccount, dpSgdEpsilon } from '../src/privacy/accountant.js';
import { epsilonFromRdp } from '../src/privacy/epsilon.js';
import { RDP_ORDERS, rdpSampledGaussian } from '../src/privacy/rdp.js';
import { logErfc } from '../src/privacy/special.js';

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe('mnist cube: RDP accountant of DP-SGD (sampled Gaussian mechanism)', () => {
  // Published ε of the reference implementation: tensorflow/privacy, tensorflow_privacy/privacy/analysis/
  // compute_dp_sgd_privacy_test.py (commit 03035d5d4a271ac795dab80f5bc1cef82fc3d462), test_compute_dp_sgd_privacy:
  // compute_dp_sgd_privacy(n, batch_size, noise_multiplier, epochs, delta) -> (eps, order), checked there with
  // assertAlmostEqual (7 places). q = batch/n, steps = ceil(epochs n / batch), TF Privacy's order list.
  const published = [
    { name: 'Test0', n: 60000, batch: 150, sigma: 1.3, epochs: 15, delta: 1e-5, eps: 0.7242234026109595, order: 19 },
    { name: 'Test1', n: 100000, batch: 100, sigma: 1.0, epochs: 30, delta: 1e-7, eps: 1.4154988495444842, order: 13 },
    { name: 'Test2', n: 100000000, batch: 1024, sigma: 0.1, epochs: 10, delta: 1e-7, eps: 5907982.3113984, order: 1.25 },
  ];
  for (const c of published) {
    it(`TF Privacy ${c.name}: N=${c.n}, batch ${c.batch}, sigma ${c.sigma}, ${c.epochs} epochs, delta ${c.delta} -> eps ${c.eps} at order ${c.order} (within 1e-9 relative)`, () => {
      const got = dpSgdEpsilon(c.batch / c.n, c.sigma, Math.ceil((c.epochs * c.n) / c.batch), c.delta);
      expect(rel(got.epsilon, c.eps)).to.be.below(1e-9);
      expect(got.order).to.equal(c.order);
    });
  }

  it('per-order RDP of google/differential-privacy dp_accounting (rdp_privacy_accountant_test.py, test_compute_rdp_poisson_sampled_gaussian): q 0.01, sigma 2.5, 50 steps, fractional and integer orders, within 1e-5 relative', () => {
    // Commit b5b0286e313b64a692abfc8c528d54ef47d960a0 of google/differential-privacy; checked there with np.allclose.
    const orders = [1.5, 2.5, 5, 50, 100];
    const expected = [6.70579741e-4, 1.0854871e-3, 2.18075656e-3, 2.38460375e-2, 1.67416308e2];
    rdpSampledGaussian(0.01, 2.5, orders).forEach((r, i) => expect(rel(r * 50, expected[i]), `order ${orders[i]}`).to.be.below(1e-5));
  });

  it("TF Privacy's MNIST tutorial (tutorials/README.md: N 60000, batch 256, sigma 1.1, delta 1e-5 -> eps 1.03, 1.11, 3.01 after 1, 2, 60 epochs) with the conversion it printed them with", () => {
    // Those figures predate the improved conversion: they are Mironov 2017 Prop. 3, eps = min over orders of r - log(delta)/(order - 1).
    const one = rdpSampledGaussian(256 / 60000, 1.1);
    for (const [epochs, eps] of [
      [1, 1.03],
      [2, 1.11],
      [60, 3.01],
    ]) {
      const steps = Math.ceil((epochs * 60000) / 256);
      const basic = Math.min(...RDP_ORDERS.map((a, k) => one[k] * steps - Math.log(1e-5) / (a - 1)));
      expect(basic, `${epochs} epochs`).to.be.closeTo(eps, 0.005);
      // The conversion used here is tighter.
      expect(dpSgdEpsilon(256 / 60000, 1.1, steps, 1e-5).epsilon).to.be.below(basic);
    }
  });

  it('q = 1 is the Gaussian mechanism: RDP order/(2 sigma^2) at every order', () => {
    for (const sigma of [0.5, 1.1, 4]) rdpSampledGaussian(1, sigma).forEach((r, k) => expect(rel(r, RDP_ORDERS[k] / (2 * sigma * sigma))).to.be.below(1e-12));
  });

  it('q = 0 costs nothing; sigma = 0 gives eps = infinity', () => {
    expect(dpSgdEpsilon(0, 1, 1000, 1e-5).epsilon).to.equal(0);
    expect(dpSgdEpsilon(0.01, 0, 1, 1e-5).epsilon).to.equal(Infinity);
  });

  it('for small q the RDP approaches order q^2 (e^(1/sigma^2) - 1) / 2 (the leading term of the binomial expansion)', () => {
    // A_a = 1 + C(a,2) q^2 (e^{1/sigma^2} - 1) + O(q^3), so log A_a / (a - 1) ~ a q^2 (e^{1/sigma^2} - 1) / 2.
    const q = 1e-5;
    const sigma = 4;
    rdpSampledGaussian(q, sigma, [2, 3, 8]).forEach((r, i) => {
      const a = [2, 3, 8][i];
      expect(rel(r, (a * q * q * Math.expm1(1 / (sigma * sigma))) / 2)).to.be.below(1e-3);
    });
  });

  it('eps falls as sigma grows, and grows with the steps and with q', () => {
    const base = { q: 0.01, sigma: 1.1, steps: 1000 };
    const eps = (o: Partial<typeof base>) => {
      const c = { ...base, ...o };
      return dpSgdEpsilon(c.q, c.sigma, c.steps, 1e-5).epsilon;
    };
    const bySigma = [0.6, 0.8, 1, 1.5, 2, 4, 8].map((sigma) => eps({ sigma }));
    const bySteps = [1, 10, 100, 1000, 10000].map((steps) => eps({ steps }));
    const byQ = [0.001, 0.004, 0.01, 0.05, 0.2, 1].map((q) => eps({ q }));
    for (const [name, seq, sign] of [
      ['sigma', bySigma, -1],
      ['steps', bySteps, 1],
      ['q', byQ, 1],
    ] as const) {
      for (let i = 1; i < seq.length; i++) expect(sign * (seq[i] - seq[i - 1]), `${name}: ${seq.join(', ')}`).to.be.greaterThan(0);
    }
  });

  it('conversion: the hand-computed pure-DP case of dp_accounting (rdp 1.1 at orders 2..32, delta 1e-5 -> 1.32783806176 at order 32), and eps 0 under the KL bound', () => {
    const orders = Array.from({ length: 31 }, (_, i) => i + 2);
    const got = epsilonFromRdp(
      orders,
      orders.map(() => 1.1),
      1e-5,
    );
    expect(got.epsilon).to.be.closeTo(1.32783806176, 1e-10);
    expect(got.order).to.equal(32);
    // delta >= sqrt(1 - e^-r): r = 1e-12 with delta 1e-5
    expect(epsilonFromRdp([2, 3], [1e-12, 1e-12], 1e-5).epsilon).to.equal(0);
  });

  it('an account of a run: rate batch/N, ceil(N/batch) steps an epoch, eps after e epochs as dpSgdEpsilon', () => {
    const a = dpSgdAccount({ l2_norm_clip: 1, noise_multiplier: 1.3, delta: 1e-5 }, 60000, 150);
    expect(a.sampling_rate).to.equal(150 / 60000);
    expect(a.steps_per_epoch).to.equal(400);
    expect(a.epsilonAfter(15).steps).to.equal(6000);
    expect(rel(a.epsilonAfter(15).epsilon, 0.7242234026109595)).to.be.below(1e-9);
  });

  it('log erfc against scipy.special (log(2) + log_ndtr(-x sqrt 2)) from the negative side to far tails, within 1e-13 relative', () => {
    // Values printed by scipy 1.17.1: python3 -c "import math; from scipy import special; print(math.log(2)+special.log_ndtr(-x*2**0.5))"
    const table: Array<[number, number]> = [
      [-5, 0.6931471805591766],
      [-1, 0.6112323176780705],
      [-0.1, 0.10657640058652262],
      [0, 0],
      [0.3, -0.39843005144008525],
      [1, -1.849605509933249],
      [1.99, -5.320852015139978],
      [2, -5.36494126461664],
      [3, -10.720363041981116],
      [5, -27.200889545537446],
      [10, -102.87988902484493],
      [30, -903.9741171106442],
      [1000, -1000007.4801207221],
    ];
    for (const [x, v] of table) expect(Math.abs(logErfc(x) - v), `x=${x}`).to.be.at.most(1e-13 * Math.max(1, Math.abs(v)));
  });

  it('rejects a sampling rate outside [0, 1], a negative sigma, orders <= 1 and a delta outside (0, 1)', () => {
    expect(() => rdpSampledGaussian(1.5, 1)).to.throw(/sampling rate/);
    expect(() => rdpSampledGaussian(0.1, -1)).to.throw(/noise multiplier/);
    expect(() => rdpSampledGaussian(0.1, 1, [1])).to.throw(/orders/);
    expect(() => epsilonFromRdp([2], [1], 0)).to.throw(/delta/);
  });
});
