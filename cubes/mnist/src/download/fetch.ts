import { createHash, type Hash } from 'node:crypto';
import { closeSync, createReadStream, ftruncateSync, openSync, statSync, writeSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { fileURLToPath } from 'node:url';
import { CubeError } from '../errors.js';
import type { Logger } from '../log.js';
import { Progress } from './progress.js';

/** Knobs of {@link fetchToFile}; tests shorten the backoff. */
export interface FetchOptions {
  timeoutMs: number;
  retries: number;
  /** First backoff delay; doubles per attempt (plus jitter-free, so runs are reproducible). */
  backoffMs: number;
  log: Logger;
}

/** A failed attempt; `transient` ones are retried (connection reset, timeout, truncation, HTTP 5xx/408/429). */
class AttemptError extends Error {
  constructor(
    message: string,
    readonly transient: boolean,
  ) {
    super(message);
  }
}

// ENOTFOUND (the name does not exist) is not here: retrying it only delays the error; EAI_AGAIN (the resolver
// could not answer) is.
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ETIMEDOUT', 'ECONNREFUSED', 'EPIPE', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ECONNABORTED']);

/** Outcome of a download: byte count and sha256 of what was written. */
export interface Fetched {
  bytes: number;
  sha256: string;
}

/** sha256 of a file on disk, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function copyLocal(uri: string, dest: string, log: Logger): Promise<Fetched> {
  const path = fileURLToPath(uri);
  let size: number;
  try {
    size = statSync(path).size;
  } catch (err) {
    throw new CubeError({
      place: uri,
      problem: `cannot read the source file (${(err as NodeJS.ErrnoException).code})`,
      fix: 'check the uri in data_config (relative paths start at the directory of data_config)',
    });
  }
  const hash = createHash('sha256');
  const fd = openSync(dest, 'w');
  const progress = new Progress(log, path);
  let bytes = 0;
  try {
    for await (const chunk of createReadStream(path)) {
      const b = chunk as Buffer;
      writeSync(fd, b);
      hash.update(b);
      bytes += b.length;
      progress.update(bytes, size);
    }
  } finally {
    closeSync(fd);
  }
  progress.done(bytes);
  return { bytes, sha256: hash.digest('hex') };
}

interface HttpState {
  fd: number;
  hash: Hash;
  bytes: number;
  total?: number;
}

function restart(state: HttpState): void {
  ftruncateSync(state.fd, 0);
  state.hash = createHash('sha256');
  state.bytes = 0;
  state.total = undefined;
}

/** One HTTP(S) attempt that appends to state.fd, resuming at state.bytes with a Range request when possible. */
function httpAttempt(uri: string, state: HttpState, opts: FetchOptions, progress: Progress, redirects = 0): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const url = new URL(uri);
    const client = url.protocol === 'https:' ? https : http;
    const headers: Record<string, string> = { 'user-agent': 'mlcube-mnist-ts/0.1' };
    if (state.bytes > 0) headers.range = `bytes=${state.bytes}-`;
    const req = client.get(url, { headers }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirects >= 5) return reject(new AttemptError('more than 5 redirects', false));
        const next = new URL(res.headers.location, url).href;
        return httpAttempt(next, state, opts, progress, redirects + 1).then(resolvePromise, reject);
      }
      if (status !== 200 && status !== 206) {
        res.resume();
        const transient = status >= 500 || status === 408 || status === 429;
        return reject(new AttemptError(`HTTP ${status} ${res.statusMessage ?? ''}`.trim(), transient));
      }
      const length = Number(res.headers['content-length']);
      if (status === 206) {
        const m = /bytes (\d+)-\d+\/(\d+|\*)/.exec(String(res.headers['content-range'] ?? ''));
        if (!m || Number(m[1]) !== state.bytes) {
          restart(state);
          res.resume();
          return reject(new AttemptError('server answered a Range request with a different range; starting over', true));
        }
        state.total = m[2] === '*' ? undefined : Number(m[2]);
        opts.log.info(`${uri}: resuming at byte ${state.bytes}`);
      } else {
        if (state.bytes > 0) opts.log.info(`${uri}: server does not resume (HTTP 200 to a Range request); starting over`);
        restart(state);
        state.total = Number.isFinite(length) ? length : undefined;
      }
      res.on('data', (chunk: Buffer) => {
        writeSync(state.fd, chunk);
        state.hash.update(chunk);
        state.bytes += chunk.length;
        progress.update(state.bytes, state.total);
      });
      res.on('end', () => {
        if (!res.complete) return reject(new AttemptError(`connection closed after ${state.bytes} bytes`, true));
        if (state.total !== undefined && state.bytes !== state.total) {
          return reject(new AttemptError(`truncated: got ${state.bytes} of ${state.total} bytes`, true));
        }
        resolvePromise();
      });
      res.on('aborted', () => reject(new AttemptError(`connection reset after ${state.bytes} bytes`, true)));
      res.on('error', (err: NodeJS.ErrnoException) => reject(new AttemptError(`${err.code ?? err.message} after ${state.bytes} bytes`, true)));
    });
    req.setTimeout(opts.timeoutMs, () => req.destroy(Object.assign(new Error(`no data for ${opts.timeoutMs / 1000}s`), { code: 'ETIMEDOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => {
      const transient = TRANSIENT_CODES.has(err.code ?? '') || err.message.startsWith('no data');
      reject(new AttemptError(err.code === 'ETIMEDOUT' ? `timeout: ${err.message}` : `${err.code ?? 'error'}: ${err.message}`, transient));
    });
  });
}

async function download(uri: string, dest: string, opts: FetchOptions): Promise<Fetched> {
  const state: HttpState = { fd: openSync(dest, 'w'), hash: createHash('sha256'), bytes: 0 };
  const progress = new Progress(opts.log, uri);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await httpAttempt(uri, state, opts, progress);
        progress.done(state.bytes);
        return { bytes: state.bytes, sha256: state.hash.digest('hex') };
      } catch (err) {
        if (!(err instanceof AttemptError)) throw err;
        if (!err.transient || attempt >= opts.retries) {
          throw new CubeError({
            place: uri,
            problem: `download failed${attempt > 0 ? ` after ${attempt + 1} attempts` : ''} (${err.message})`,
            fix: err.transient ? 'check the network or proxy, raise retries/timeout_s in data_config, or use a local copy (file:// or a relative path)' : 'check the uri in data_config',
          });
        }
        const wait = opts.backoffMs * 2 ** attempt;
        opts.log.warn(`${uri}: ${err.message}; retry ${attempt + 1}/${opts.retries} in ${(wait / 1000).toFixed(1)}s`);
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  } finally {
    closeSync(state.fd);
  }
}

/**
 * Streams `uri` (http, https or file) into `dest`, hashing as it goes; retries transient network errors with
 * exponential backoff and resumes with HTTP Range. Returns the sha256; the caller compares and renames.
 */
export async function fetchToFile(uri: string, dest: string, opts: FetchOptions): Promise<Fetched> {
  if (uri.startsWith('file:')) return copyLocal(uri, dest, opts.log);
  return download(uri, dest, opts);
}
