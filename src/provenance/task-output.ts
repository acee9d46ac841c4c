import { createHash } from 'node:crypto';
import { closeSync, constants, fchmodSync, openSync, write } from 'node:fs';
import { basename } from 'node:path';
import { Writable } from 'node:stream';

/** How much of each of a task's output streams is kept in its run directory; the rest still reaches the terminal. */
export const TASK_OUTPUT_LIMIT_BYTES = 16 * 1024 * 1024;

/** What a captured stream left in its file. */
export interface CapturedOutput {
  /** The file's basename (it lives in the run directory). */
  file: string;
  /** sha256 (hex) of the file's content, i.e. of the first `bytes` bytes of the output. */
  sha256: string;
  /** Bytes written to the file. */
  bytes: number;
  /** Bytes the task wrote to the stream. */
  total_bytes: number;
  /** total_bytes > bytes: the file holds only the first limit_bytes. */
  truncated: boolean;
  limit_bytes: number;
}

export interface Capture {
  /** Give this to the runner as TaskIo.stdout / stderr. */
  stream: Writable;
  /** Ends the stream (after the task's last bytes) and closes the file; rejects if the file could not be written. */
  finish(): Promise<CapturedOutput>;
}

/**
 * A tee for one of a task's output streams: every byte goes on to `passthrough` unchanged (the terminal; never
 * ended here), and the first `limitBytes` into `file` (created with mode 0644 whatever the umask; an existing
 * file or symlink there is an error), hashed as written. Backpressure from the terminal reaches the task as it
 * would without the tee; a passthrough that fails (EPIPE: the reader went away) is dropped and the file kept on.
 */
export function captureStream(opts: { file: string; passthrough: NodeJS.WritableStream; limitBytes: number }): Capture {
  const fd = openSync(opts.file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  fchmodSync(fd, 0o644); // the mode given to open is masked by the umask
  const hash = createHash('sha256');
  let bytes = 0;
  let total = 0;
  let fileError: Error | undefined;
  let passthroughBroken = false;
  const onPassthroughError = () => (passthroughBroken = true);
  opts.passthrough.on('error', onPassthroughError);

  const toFile = (chunk: Buffer): Promise<void> => {
    const room = opts.limitBytes - bytes;
    if (room <= 0 || fileError) return Promise.resolve();
    const part = room >= chunk.length ? chunk : chunk.subarray(0, room);
    hash.update(part);
    bytes += part.length;
    return new Promise((resolve) => {
      const loop = (off: number) =>
        write(fd, part, off, part.length - off, null, (err, n) => {
          if (err) {
            fileError = err;
            return resolve();
          }
          if (off + n < part.length) loop(off + n);
          else resolve();
        });
      loop(0);
    });
  };

  const toPassthrough = (chunk: Buffer): Promise<void> => {
    if (passthroughBroken) return Promise.resolve();
    const p = opts.passthrough;
    if (p.write(chunk)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        p.off('drain', done);
        p.off('error', done);
        p.off('close', done);
        resolve();
      };
      p.on('drain', done);
      p.on('error', done);
      p.on('close', done);
    });
  };

  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      total += chunk.length;
      // Both in parallel; the next chunk waits for both (file order is kept: one write at a time).
      Promise.all([toPassthrough(chunk), toFile(chunk)]).then(() => cb(), cb);
    },
  });

  let finished: Promise<CapturedOutput> | undefined;
  const finish = () =>
    (finished ??= new Promise<void>((resolve, reject) => {
      stream.once('finish', resolve);
      stream.once('error', reject);
      if (stream.writableFinished) resolve();
      else stream.end();
    }).then(
      () => {
        opts.passthrough.off('error', onPassthroughError);
        closeSync(fd);
        if (fileError) throw fileError;
        return { file: basename(opts.file), sha256: hash.digest('hex'), bytes, total_bytes: total, truncated: total > bytes, limit_bytes: opts.limitBytes };
      },
      (e) => {
        opts.passthrough.off('error', onPassthroughError);
        closeSync(fd);
        throw e;
      },
    ));
  return { stream, finish };
}
