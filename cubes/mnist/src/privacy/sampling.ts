/**
 * The entries of `pool` each taken independently with probability q (Poisson sampling, the sampling the RDP accountant
 * assumes): the batch size varies from step to step, around q·N.
 */
export function poissonSample(pool: ArrayLike<number>, q: number, rand: () => number): Uint32Array {
  const picked: number[] = [];
  for (let i = 0; i < pool.length; i++) if (rand() < q) picked.push(pool[i]);
  return Uint32Array.from(picked);
}

/** n standard normal draws (Box–Muller over `rand`'s uniforms in [0, 1), so a seeded `rand` gives the same draws). */
export function standardNormals(n: number, rand: () => number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - rand())); // 1 − u ∈ (0, 1]: no log 0
    const t = 2 * Math.PI * rand();
    out[i] = r * Math.cos(t);
    if (i + 1 < n) out[i + 1] = r * Math.sin(t);
  }
  return out;
}
