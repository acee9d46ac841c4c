/** Bytes per unit of a size threshold: decimal units are powers of 1000 (10MB = 10,000,000 bytes), binary ones of 1024. */
const UNITS: Readonly<Record<string, number>> = { B: 1, kB: 1e3, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40 };

/** `10MB`, `1.5 GiB`, `512 B` -> bytes (rounded down to a whole byte); undefined for anything else. */
export function parseSize(text: string): number | undefined {
  const m = /^ *([0-9]+(?:\.[0-9]+)?) *([A-Za-z]+) *$/.exec(text);
  if (!m || !(m[2] in UNITS)) return undefined;
  return Math.floor(Number(m[1]) * UNITS[m[2]]);
}

/** Bytes as people read them, with the exact count: `1.23 MB (1,234,567 bytes)`. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const [v, u] = n >= 1e9 ? [n / 1e9, 'GB'] : n >= 1e6 ? [n / 1e6, 'MB'] : n >= 1e3 ? [n / 1e3, 'kB'] : [n, 'B'];
  return u === 'B' ? `${n} B` : `${Number(v.toPrecision(4))} ${u} (${n.toLocaleString('en-US')} bytes)`;
}
