import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** Logs to stderr (stdout stays clean) and, once a log directory is known, to `<log_dir>/<task>.log`. */
export class Logger {
  private file: string | undefined;
  constructor(
    private readonly task: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  /** Starts copying every line to `<dir>/<task>.log` (appending). */
  toDirectory(dir: string): void {
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, `${this.task}.log`);
    this.write('info', `--- ${this.task} started ${new Date().toISOString()} (pid ${process.pid}, node ${process.version})`, false);
  }

  get isTTY(): boolean {
    return Boolean(this.stream.isTTY);
  }

  info(msg: string): void {
    this.write('info', msg);
  }
  warn(msg: string): void {
    this.write('warn', msg);
  }
  error(msg: string): void {
    this.write('error', msg);
  }

  /** Writes raw text to the terminal only (progress bars), never to the log file. */
  tty(text: string): void {
    if (this.stream.isTTY) this.stream.write(text);
  }

  private write(level: string, msg: string, echo = true): void {
    const line = `[mnist ${this.task}] ${level === 'info' ? '' : `${level}: `}${msg}`;
    if (echo) this.stream.write(`${line}\n`);
    if (this.file) {
      try {
        appendFileSync(this.file, `${new Date().toISOString()} ${level} ${msg}\n`);
      } catch {
        this.file = undefined;
      }
    }
  }
}
