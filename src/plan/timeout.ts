import { ConfigError, UsageError, type ErrorPlace } from '../errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** The longest timeout taken (30 days): a typo such as 90000h is refused rather than meaning "never". */
export const MAX_TIMEOUT_MS = 30 * 86_400_000;

/**
 * A task timeout in ms: a number of seconds (90, 1.5) or a duration of units ms, s, m, h, d (`90s`, `5m`, `1h30m`);
 * undefined/null: none. Anything else is located where it was written (`place`, e.g. the cube file's line).
 */
export function parseTimeout(value: unknown, where: { place?: ErrorPlace; flag?: boolean }): number | null {
  if (value === undefined || value === null) return null;
  const ms = typeof value === 'number' ? value * 1000 : durationMs(String(value).trim());
  if (ms === undefined || !Number.isFinite(ms) || ms <= 0 || ms > MAX_TIMEOUT_MS) {
    const detail = `timeout ${JSON.stringify(value)} is not a duration between 1 ms and 30 days`;
    const suggestions = ['Write seconds (90) or a duration with units ms, s, m, h, d: 90s, 5m, 1h30m.'];
    throw where.flag ? new UsageError(`--${detail}`, { suggestions }) : new ConfigError(detail, { place: where.place, suggestions });
  }
  return Math.round(ms);
}

function durationMs(text: string): number | undefined {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  if (!/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(text)) return undefined;
  let total = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) total += Number(m[1]) * UNITS[m[2]];
  return total;
}

/** A timeout as people say it: 1500 -> 1.5 s, 90000 -> 1 min 30 s. */
export function formatTimeout(ms: number): string {
  if (ms < 60_000) return `${+(ms / 1000).toFixed(3)} s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return m >= 60 ? `${Math.floor(m / 60)} h ${m % 60} min` : `${m} min${s ? ` ${s} s` : ''}`;
}
