/** Logs go to stderr only (stdout carries data). Level from --log-level / MLCUBE_LOG_LEVEL. */
export type Level = 'debug' | 'info' | 'warning' | 'error' | 'critical';
const ORDER: Level[] = ['debug', 'info', 'warning', 'error', 'critical'];

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export function createLogger(level: Level = 'info', write: (s: string) => void = (s) => process.stderr.write(s)): Logger {
  const min = ORDER.indexOf(level);
  const at = (l: Level, tag: string) => (msg: string) => {
    if (ORDER.indexOf(l) >= min) write(`mlcube ${tag}: ${msg}\n`);
  };
  return { debug: at('debug', 'debug'), info: at('info', 'info'), warn: at('warning', 'warning'), error: at('error', 'error') };
}

export function isLevel(s: string | undefined): s is Level {
  return !!s && (ORDER as string[]).includes(s);
}
