import type { Logger } from '../log.js';

function mb(n: number): string {
  return `${(n / 1e6).toFixed(1)} MB`;
}

/** Download progress: a redrawn line (bytes, rate, ETA) on a terminal, a log line every 25% or 10 s otherwise. */
export class Progress {
  private readonly started = Date.now();
  private lastLog = 0;
  private lastDraw = 0;
  private lastQuarter = -1;
  constructor(
    private readonly log: Logger,
    private readonly label: string,
  ) {}

  update(bytes: number, total: number | undefined): void {
    const now = Date.now();
    const secs = Math.max((now - this.started) / 1000, 1e-3);
    const rate = bytes / secs;
    const pct = total ? Math.floor((bytes / total) * 100) : undefined;
    const eta = total && rate > 0 ? Math.max(0, (total - bytes) / rate) : undefined;
    const text = `${this.label}: ${mb(bytes)}${total ? ` / ${mb(total)} (${pct}%)` : ''} ${mb(rate)}/s${eta !== undefined ? ` ETA ${eta.toFixed(0)}s` : ''}`;
    if (this.log.isTTY) {
      if (now - this.lastDraw > 100 || (total !== undefined && bytes >= total)) {
        this.log.tty(`\r\x1b[K${text}`);
        this.lastDraw = now;
      }
      return;
    }
    const quarter = pct === undefined ? -1 : Math.floor(pct / 25);
    if (quarter > this.lastQuarter || now - this.lastLog > 10_000) {
      this.lastQuarter = Math.max(quarter, this.lastQuarter);
      this.lastLog = now;
      this.log.info(text);
    }
  }

  done(bytes: number): void {
    this.log.tty('\r\x1b[K');
    const secs = Math.max((Date.now() - this.started) / 1000, 1e-3);
    this.log.info(`${this.label}: ${mb(bytes)} in ${secs.toFixed(1)}s (${mb(bytes / secs)}/s)`);
  }
}
