/** log(e^a + e^b) without overflow. */
export function logAdd(a: number, b: number): number {
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  if (lo === -Infinity) return hi;
  return hi + Math.log1p(Math.exp(lo - hi));
}

/** erf(x) for 0 ≤ x < 2 from the series of positive terms erf x = 2/√π e^(−x²) Σ 2ⁿ x^(2n+1) / (1·3·…·(2n+1)) (no cancellation). */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; term > sum * 1e-17; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-x2) * sum;
}

/**
 * log(√π e^(x²) erfc(x)) for x ≥ 2, from the continued fraction erfc x = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …))))
 * evaluated by the modified Lentz method; it converges in a few dozen terms there and never underflows.
 */
function logScaledErfcCf(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 10000; n++) {
    const a = n / 2;
    d = x + a * d;
    d = Math.abs(d) < tiny ? 1 / tiny : 1 / d;
    c = x + a / c;
    if (Math.abs(c) < tiny) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return -Math.log(f);
}

/** erfc(x) for x ≥ 0, with full relative precision where it is tiny (underflows to 0 past x ≈ 27; use {@link logErfc} there). */
function erfcPositive(x: number): number {
  return x < 2 ? 1 - erfSeries(x) : Math.exp(-x * x + logScaledErfcCf(x)) / Math.sqrt(Math.PI);
}

/** log(erfc(x)) for any real x, accurate also where erfc(x) underflows (the tails of the sampled Gaussian's series). */
export function logErfc(x: number): number {
  if (x >= 2) return -x * x + logScaledErfcCf(x) - 0.5 * Math.log(Math.PI);
  if (x >= 0) return Math.log(erfcPositive(x));
  // erfc(−y) = 1 + erf(y) = 2 − erfc(y)
  return Math.log(2 - erfcPositive(-x));
}
