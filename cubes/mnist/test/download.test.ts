import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { writeIdx } from '../src/data/idx.js';
import { runDownload } from '../src/download/task.js';
import { mnistNpz, quietLogger, tempDir } from './helpers.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, hit: number) => void;

/** A real HTTP server on 127.0.0.1 whose behaviour per path is set by the test. */
class TestServer {
  readonly routes = new Map<string, Handler>();
  readonly hits = new Map<string, number>();
  readonly ranges: string[] = [];
  private server = http.createServer((req, res) => {
    const n = (this.hits.get(req.url!) ?? 0) + 1;
    this.hits.set(req.url!, n);
    if (req.headers.range) this.ranges.push(`${req.url} ${req.headers.range}`);
    const h = this.routes.get(req.url!);
    if (!h) {
      res.statusCode = 404;
      res.end('not found');
      return;
    }
    h(req, res, n);
  });
  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
  }
  url(path: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** Serves `body`, honouring Range requests. */
function serve(body: Uint8Array): Handler {
  return (req, res) => {
    const m = /bytes=(\d+)-/.exec(req.headers.range ?? '');
    if (m) {
      const start = Number(m[1]);
      res.writeHead(206, { 'content-length': body.length - start, 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` });
      res.end(Buffer.from(body.subarray(start)));
    } else {
      res.writeHead(200, { 'content-length': body.length });
      res.end(Buffer.from(body));
    }
  };
}

describe('mnist cube: download task', function () {
  this.timeout(30000);
  const images = Uint8Array.from({ length: 4 * 784 }, (_, i) => i % 251);
  const labels = Uint8Array.of(1, 2, 3, 4);
  const npz = mnistNpz(images, labels, true);
  const idx: Record<string, Buffer> = {
    'train-images-idx3-ubyte.gz': writeIdx(images, [4, 28, 28], true),
    'train-labels-idx1-ubyte.gz': writeIdx(labels, [4], true),
    't10k-images-idx3-ubyte.gz': writeIdx(images, [4, 28, 28], true),
    't10k-labels-idx1-ubyte.gz': writeIdx(labels, [4], true),
  };
  let server: TestServer;
  let tmp: ReturnType<typeof tempDir>;
  let dataDir: string;
  let sentinel: string;

  beforeEach(async () => {
    server = new TestServer();
    await server.start();
    tmp = tempDir();
    dataDir = join(tmp.dir, 'data');
    mkdirSync(dataDir);
    sentinel = join(dataDir, 'keep.txt');
    writeFileSync(sentinel, 'existing content');
  });
  afterEach(async () => {
    await server.stop();
    tmp.cleanup();
  });

  function config(yaml: string): string {
    const file = join(tmp.dir, 'data.yaml');
    writeFileSync(file, yaml);
    return file;
  }
  const unchanged = () => expect(readdirSync(dataDir)).to.deep.equal(['keep.txt']);
  const run = (file: string) => runDownload({ dataConfig: file, dataDir, backoffMs: 10 }, quietLogger('download'));
  async function failure(file: string): Promise<string> {
    try {
      await run(file);
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error('download should have failed');
  }

  it('fetches an npz over HTTP, verifies it, and skips it the second time', async () => {
    server.routes.set('/mnist.npz', serve(npz));
    const file = config(`uri: ${server.url('/mnist.npz')}\nhash: ${sha(npz)}\n`);
    await run(file);
    expect(readFileSync(join(dataDir, 'mnist.npz')).equals(npz)).to.equal(true);
    await run(file);
    expect(server.hits.get('/mnist.npz')).to.equal(1);
    expect(readdirSync(dataDir).sort()).to.deep.equal(['keep.txt', 'mnist.npz']);
  });

  it('fetches the four IDX files from a directory URI, and from a relative path', async () => {
    for (const [name, body] of Object.entries(idx)) server.routes.set(`/d/${name}`, serve(body));
    const hashes = Object.entries(idx)
      .map(([n, b]) => `  ${n}: ${sha(b)}`)
      .join('\n');
    await run(config(`uri: ${server.url('/d/')}\nhash:\n${hashes}\n`));
    expect(readdirSync(dataDir).sort()).to.deep.equal(['keep.txt', ...Object.keys(idx)].sort());
    const local = join(tmp.dir, 'local.npz');
    writeFileSync(local, npz);
    await run(config(`uri: local.npz\nhash: ${sha(npz)}\n`));
    expect(readdirSync(dataDir)).to.include('local.npz');
  });

  it('hash mismatch: names the URI, the expected and the actual hash; data_dir unchanged', async () => {
    server.routes.set('/mnist.npz', serve(npz));
    const wrong = 'a'.repeat(64);
    const msg = await failure(config(`uri: ${server.url('/mnist.npz')}\nhash: ${wrong}\n`));
    expect(msg)
      .to.include(server.url('/mnist.npz'))
      .and.include(`found ${sha(npz)}`)
      .and.include(`expected ${wrong}`)
      .and.include('sha256 mismatch');
    unchanged();
  });

  it('truncated gzip (hash matching the truncated file): corrupt archive error; data_dir unchanged', async () => {
    const cut = idx['train-labels-idx1-ubyte.gz'].subarray(0, 20);
    const files = { ...idx, 'train-labels-idx1-ubyte.gz': cut };
    for (const [name, body] of Object.entries(files)) server.routes.set(`/d/${name}`, serve(body));
    const list = Object.entries(files)
      .map(([n, b]) => `  - {uri: "${server.url(`/d/${n}`)}", hash: ${sha(b)}}`)
      .join('\n');
    const msg = await failure(config(`uri:\n${list}\n`));
    expect(msg).to.match(/train-labels-idx1-ubyte\.gz: corrupt gzip data/);
    unchanged();
  });

  it('wrong magic number (images served as labels): names file, found and expected magic; data_dir unchanged', async () => {
    const files = { ...idx, 'train-labels-idx1-ubyte.gz': idx['train-images-idx3-ubyte.gz'] };
    for (const [name, body] of Object.entries(files)) server.routes.set(`/d/${name}`, serve(body));
    const list = Object.entries(files)
      .map(([n, b]) => `  - {uri: "${server.url(`/d/${n}`)}", hash: ${sha(b)}}`)
      .join('\n');
    const msg = await failure(config(`uri:\n${list}\n`));
    expect(msg).to.match(/train-labels-idx1-ubyte\.gz: wrong IDX magic number; found 0x00000803; expected 0x00000801/);
    unchanged();
  });

  it('HTTP 404: fails at once naming the URI and the status; data_dir unchanged', async () => {
    const msg = await failure(config(`uri: ${server.url('/missing.npz')}\nhash: ${sha(npz)}\n`));
    expect(msg).to.include(`${server.url('/missing.npz')}: download failed (HTTP 404 Not Found)`);
    expect(server.hits.get('/missing.npz')).to.equal(1);
    unchanged();
  });

  it('HTTP 403: fails at once (not retried), naming the URI and the status', async () => {
    server.routes.set('/private.npz', (_req, res) => {
      res.statusCode = 403;
      res.end('no');
    });
    const msg = await failure(config(`uri: ${server.url('/private.npz')}\nhash: ${sha(npz)}\n`));
    expect(msg).to.include(`${server.url('/private.npz')}: download failed (HTTP 403 Forbidden)`);
    expect(server.hits.get('/private.npz')).to.equal(1);
    unchanged();
  });

  it('a host name that does not exist (ENOTFOUND) fails in under 1 s with the default backoff, naming the URI', async function () {
    const uri = 'http://mnist-data.invalid/mnist.npz'; // RFC 6761: .invalid never resolves
    const code = await new Promise<string | undefined>((res) => http.get(uri, () => res(undefined)).on('error', (e: NodeJS.ErrnoException) => res(e.code)));
    if (code !== 'ENOTFOUND') {
      console.warn(`    skip: this machine's resolver answers ${code ?? 'success'} for a .invalid name, not ENOTFOUND`);
      this.skip();
    }
    const started = performance.now();
    let msg = '';
    try {
      await runDownload({ dataConfig: config(`uri: ${uri}\nhash: ${sha(npz)}\n`), dataDir }, quietLogger('download'));
    } catch (err) {
      msg = (err as Error).message;
    }
    expect(performance.now() - started).to.be.below(1000);
    expect(msg).to.include(uri).and.include('ENOTFOUND');
    unchanged();
  });

  it('HTTP 500: retried with backoff, then fails naming the attempts; data_dir unchanged', async () => {
    server.routes.set('/mnist.npz', (_req, res) => {
      res.statusCode = 500;
      res.end('boom');
    });
    const msg = await failure(config(`uri: ${server.url('/mnist.npz')}\nhash: ${sha(npz)}\nretries: 2\n`));
    expect(msg).to.include('download failed after 3 attempts (HTTP 500 Internal Server Error)');
    expect(server.hits.get('/mnist.npz')).to.equal(3);
    unchanged();
  });

  it('connection reset mid-body: resumes with an HTTP Range request and succeeds', async () => {
    const body = serve(npz);
    server.routes.set('/mnist.npz', (req, res, hit) => {
      if (hit === 1) {
        res.writeHead(200, { 'content-length': npz.length });
        res.write(Buffer.from(npz.subarray(0, 1000)), () => setTimeout(() => res.socket?.destroy(), 20));
        return;
      }
      body(req, res, hit);
    });
    await run(config(`uri: ${server.url('/mnist.npz')}\nhash: ${sha(npz)}\n`));
    expect(server.ranges).to.deep.equal(['/mnist.npz bytes=1000-']);
    expect(readFileSync(join(dataDir, 'mnist.npz')).equals(npz)).to.equal(true);
  });

  it('connection reset every time: fails after the retries; data_dir unchanged', async () => {
    server.routes.set('/mnist.npz', (_req, res) => {
      res.socket?.destroy();
    });
    const msg = await failure(config(`uri: ${server.url('/mnist.npz')}\nhash: ${sha(npz)}\nretries: 1\n`));
    expect(msg).to.match(/mnist\.npz: download failed after 2 attempts \(ECONNRESET/);
    unchanged();
  });

  it('stalled server: times out per timeout_s; data_dir unchanged', async () => {
    server.routes.set('/mnist.npz', (_req, res) => {
      res.writeHead(200, { 'content-length': npz.length });
      res.write('x');
    });
    const msg = await failure(config(`uri: ${server.url('/mnist.npz')}\nhash: ${sha(npz)}\nretries: 0\ntimeout_s: 0.3\n`));
    expect(msg).to.match(/download failed \(.*no data for 0\.3s/);
    unchanged();
  });

  it('rejects unknown keys and bad hashes naming the file and the key', async () => {
    let msg = await failure(config(`uri: x.npz\nhash: ${sha(npz)}\nmirror: y\n`));
    expect(msg).to.match(/data\.yaml:3:1: key "mirror": unknown key/);
    msg = await failure(config('uri: x.npz\nhash: 1234\n'));
    expect(msg).to.match(/data\.yaml:2:1: key "hash": bad value; found 1234/);
    msg = await failure(config('uri: ftp://host/x.npz\nhash: ' + sha(npz) + '\n'));
    expect(msg).to.match(/unsupported URI scheme; found ftp:\/\/host\/x\.npz/);
    unchanged();
  });
});
