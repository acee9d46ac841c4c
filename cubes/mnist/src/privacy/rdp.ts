import { logAdd, logErfc } from './special.js';

/**
 * The RDP orders α evaluated, as TensorFlow Privacy's compute_dp_sgd_privacy uses them: ε is the best over these.
 * Fractional orders matter for small ε; the large ones for large σ and few steps.
 */
export const RDP_ORDERS: readonly number[] = [1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 4, 4.5, ...Array.from({ length: 59 }, (_, i) => i + 5), 128, 256, 512];

/** Past this many terms the fractional series is taken as not converged and its order is left out (ε = ∞ there). */
const MAX_FRAC_TERMS = 1000;

/**
 * log A_α for integer α: A_α = Σ_{i=0..α} C(α,i) (1−q)^(α−i) q^i exp((i²−i)/(2σ²)), Mironov, Talwar, Zhang 2019,
 * "Rényi Differential Privacy of the Sampled Gaussian Mechanism" (arXiv:1908.10530), Sec. 3.2, summed in log space.
 */
function logAInt(q: number, sigma: number, alpha: number): number {
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  let logBinom = 0; // log C(α, 0)
  let logA = -Infinity;
  for (let i = 0; i <= alpha; i++) {
    if (i > 0) logBinom += Math.log(alpha - i + 1) - Math.log(i);
    logA = logAdd(logA, logBinom + i * logQ + (alpha - i) * log1mQ + (i * i - i) / (2 * sigma * sigma));
  }
  return logA;
}

/**
 * log A_α for fractional α: the two series of Mironov et al. 2019, Sec. 3.3 (the integrals over (−∞, z₀] and [z₀, ∞) with
 * z₀ = σ² log(1/q − 1) + 1/2), each term with |C(α, i)| and a log erfc, summed until both series fall 30 nats below the total.
 */
function logAFrac(q: number, sigma: number, alpha: number): number {
  const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5;
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const s2 = Math.SQRT2 * sigma;
  let logA0 = -Infinity;
  let logA1 = -Infinity;
  let last0 = -Infinity;
  let last1 = -Infinity;
  let logBinom = 0; // log |C(α, i)|, by C(α, i) = C(α, i−1) (α − i + 1) / i
  for (let i = 0; i < MAX_FRAC_TERMS; i++) {
    if (i > 0) logBinom += Math.log(Math.abs(alpha - i + 1)) - Math.log(i);
    const j = alpha - i;
    const s0 = logBinom + i * logQ + j * log1mQ + (i * i - i) / (2 * sigma * sigma) + Math.log(0.5) + logErfc((i - z0) / s2);
    const s1 = logBinom + j * logQ + i * log1mQ + (j * j - j) / (2 * sigma * sigma) + Math.log(0.5) + logErfc((z0 - j) / s2);
    logA0 = logAdd(logA0, s0);
    logA1 = logAdd(logA1, s1);
    const total = logAdd(logA0, logA1);
    if (s0 < last0 && s1 < last1 && Math.max(s0, s1) < total - 30) return total;
    last0 = s0;
    last1 = s1;
  }
  return Infinity;
}

/**
 * RDP ε_α of one step of the sampled Gaussian mechanism (Poisson sampling with rate q, Gaussian noise of σ times the
 * L2 sensitivity), for each order: 0 for q = 0, ∞ for σ = 0, α/(2σ²) for q = 1 (the Gaussian mechanism), else log A_α / (α − 1).
 */
export function rdpSampledGaussian(q: number, sigma: number, orders: readonly number[] = RDP_ORDERS): number[] {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`sampling rate must be in [0, 1], got ${q}`);
  if (!(sigma >= 0)) throw new RangeError(`noise multiplier must be ≥ 0, got ${sigma}`);
  return orders.map((alpha) => {
    if (!(alpha > 1)) throw new RangeError(`RDP orders must be > 1, got ${alpha}`);
    if (q === 0) return 0;
    if (sigma === 0 || alpha === Infinity) return Infinity;
    if (q === 1) return alpha / (2 * sigma * sigma);
    return (Number.isInteger(alpha) ? logAInt(q, sigma, alpha) : logAFrac(q, sigma, alpha)) / (alpha - 1);
  });
}
