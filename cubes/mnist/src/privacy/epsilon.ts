/**
 * (ε, δ)-DP from RDP guarantees, the best over the orders: for each order α > 1.01 with RDP r,
 * ε = r + log(1 − 1/α) − log(δ α)/(α − 1) (Balle, Barthe, Gaboardi, Hsu, Sato 2020, "Hypothesis testing interpretations
 * and Rényi differential privacy", arXiv:2004.00010 Prop. 12; also Asoodeh et al. 2020, arXiv:2001.05990 Eq. 20), and 0
 * where the KL bound δ ≥ √(1 − e^(−r)) already holds. This is the conversion of dp_accounting's compute_epsilon, which
 * TensorFlow Privacy's compute_dp_sgd_privacy uses; it is tighter than Mironov 2017's ε = r − log δ/(α − 1).
 */
export function epsilonFromRdp(orders: readonly number[], rdp: readonly number[], delta: number): { epsilon: number; order: number } {
  if (orders.length !== rdp.length) throw new RangeError('orders and rdp must have the same length');
  if (!(delta > 0 && delta < 1)) throw new RangeError(`delta must be in (0, 1), got ${delta}`);
  let best = { epsilon: Infinity, order: orders[0] };
  orders.forEach((a, k) => {
    const r = rdp[k];
    let eps: number;
    if (r <= 0 || delta * delta + Math.expm1(-r) > 0) eps = 0;
    else if (a > 1.01) eps = r + Math.log1p(-1 / a) - Math.log(delta * a) / (a - 1);
    else eps = Infinity;
    if (eps < best.epsilon) best = { epsilon: eps, order: a };
  });
  return { epsilon: Math.max(0, best.epsilon), order: best.order };
}
