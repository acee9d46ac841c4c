import { basename, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { IDX_FILES } from '../data/dataset.js';
import { CubeError } from '../errors.js';
import type { DataConfig } from './schema.js';

/** One file to fetch: absolute URI, expected sha256 and the name it gets in data_dir. */
export interface Source {
  uri: string;
  sha256: string;
  name: string;
}

const KERAS = 'https://storage.googleapis.com/tensorflow/tf-keras-datasets/';
const IDX_GZ = Object.values(IDX_FILES).map((f) => `${f}.gz`);

/** Canonical internet sources: Keras' mnist.npz, and Fashion-MNIST's four IDX files as Keras mirrors them. */
export const CANONICAL: Record<DataConfig['dataset'], Source[]> = {
  mnist: [{ uri: `${KERAS}mnist.npz`, sha256: '731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1', name: 'mnist.npz' }],
  fashion_mnist: [
    { uri: `${KERAS}train-images-idx3-ubyte.gz`, sha256: '08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc', name: 'train-images-idx3-ubyte.gz' },
    { uri: `${KERAS}train-labels-idx1-ubyte.gz`, sha256: 'b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc', name: 'train-labels-idx1-ubyte.gz' },
    { uri: `${KERAS}t10k-images-idx3-ubyte.gz`, sha256: '78dcbbfb5a27efaf1b6c1d616caca68560be8766c5bffcb2791df9273a534229', name: 't10k-images-idx3-ubyte.gz' },
    { uri: `${KERAS}t10k-labels-idx1-ubyte.gz`, sha256: '42bd18137a62d5998cdeae52bf3a0676ac6b706f5cf8439b47bb5b151ae3dccf', name: 't10k-labels-idx1-ubyte.gz' },
  ],
};

/** Makes a URI absolute: http(s):// and file:// stay, other strings are paths relative to `baseDir`. */
export function absoluteUri(uri: string, baseDir: string, place: string): string {
  if (/^https?:\/\//i.test(uri) || /^file:\/\//i.test(uri)) return uri;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) {
    throw new CubeError({ place, problem: 'unsupported URI scheme', found: uri, expected: 'https://, http://, file:// or a relative path', fix: 'download the file yourself and give its path' });
  }
  return pathToFileURL(isAbsolute(uri) ? uri : resolve(baseDir, uri)).href;
}

function nameOf(uri: string): string {
  return decodeURIComponent(basename(new URL(uri).pathname));
}

function checkIdxSet(sources: Source[], place: string): void {
  const names = sources.map((s) => s.name.replace(/\.gz$/, ''));
  const missing = Object.values(IDX_FILES).filter((f) => !names.includes(f));
  if (missing.length) {
    throw new CubeError({
      place,
      problem: 'the IDX file list is incomplete',
      found: sources.map((s) => s.name).join(', '),
      expected: `the four files ${IDX_GZ.join(', ')} (missing ${missing.join(', ')})`,
      fix: 'list all four files, or give a single .npz',
    });
  }
}

/** Turns a validated data_config into the files to fetch. `file` is data_config's path (relative URIs start beside it). */
export function resolveSources(cfg: DataConfig, file: string, baseDir: string): Source[] {
  if (cfg.uri === undefined) {
    if (cfg.hash !== undefined) {
      throw new CubeError({ place: `${file}: key "hash"`, problem: 'hash given without uri', expected: 'uri and hash together, or neither (canonical source)' });
    }
    return CANONICAL[cfg.dataset];
  }
  if (Array.isArray(cfg.uri)) {
    const sources = cfg.uri.map((e, i) => {
      const uri = absoluteUri(e.uri, baseDir, `${file}: key "uri.${i}"`);
      return { uri, sha256: e.hash.toLowerCase(), name: nameOf(uri) };
    });
    if (sources.length === 1 && sources[0].name.endsWith('.npz')) return sources;
    checkIdxSet(sources, `${file}: key "uri"`);
    return sources;
  }
  const uri = absoluteUri(cfg.uri, baseDir, `${file}: key "uri"`);
  if (uri.endsWith('/')) {
    if (typeof cfg.hash !== 'object') {
      throw new CubeError({
        place: `${file}: key "hash"`,
        problem: 'a directory uri needs one hash per file',
        found: cfg.hash === undefined ? 'no hash' : 'a single hash',
        expected: `a map with keys ${IDX_GZ.join(', ')}`,
        fix: 'run sha256sum on the four files and list them under hash:',
      });
    }
    const hashes = cfg.hash;
    const sources = IDX_GZ.map((name) => {
      const sha = hashes[name];
      if (!sha) {
        throw new CubeError({
          place: `${file}: key "hash.${name}"`,
          problem: 'missing hash for an IDX file',
          expected: 'a sha256 for each of the four files',
          fix: `add "${name}: <sha256>" under hash:`,
        });
      }
      return { uri: new URL(name, uri).href, sha256: sha.toLowerCase(), name };
    });
    return sources;
  }
  if (typeof cfg.hash !== 'string') {
    throw new CubeError({
      place: `${file}: key "hash"`,
      problem: 'a single-file uri needs one sha256',
      found: cfg.hash === undefined ? 'no hash' : 'a map',
      expected: 'a 64-digit hex sha256',
      fix: `run \`sha256sum\` on the file and set hash: to it`,
    });
  }
  const name = nameOf(uri);
  if (!name.endsWith('.npz')) {
    throw new CubeError({
      place: `${file}: key "uri"`,
      problem: 'a single file must be a .npz archive',
      found: name,
      expected: 'a *.npz (Keras layout), a directory ending in / or a list of the four IDX files',
    });
  }
  return [{ uri, sha256: cfg.hash.toLowerCase(), name }];
}
