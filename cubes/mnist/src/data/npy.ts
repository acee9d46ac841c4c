import { CubeError } from '../errors.js';

/** An n-dimensional array as stored in a .npy file (C order). */
export interface NdArray {
  dtype: string;
  shape: number[];
  data: Uint8Array | Int8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array | BigInt64Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const DTYPES: Record<string, { bytes: number; make: (b: ArrayBuffer, o: number, n: number) => NdArray['data'] }> = {
  '|u1': { bytes: 1, make: (b, o, n) => new Uint8Array(b, o, n) },
  '|i1': { bytes: 1, make: (b, o, n) => new Int8Array(b, o, n) },
  '<i2': { bytes: 2, make: (b, o, n) => new Int16Array(b, o, n) },
  '<u2': { bytes: 2, make: (b, o, n) => new Uint16Array(b, o, n) },
  '<i4': { bytes: 4, make: (b, o, n) => new Int32Array(b, o, n) },
  '<u4': { bytes: 4, make: (b, o, n) => new Uint32Array(b, o, n) },
  '<f4': { bytes: 4, make: (b, o, n) => new Float32Array(b, o, n) },
  '<f8': { bytes: 8, make: (b, o, n) => new Float64Array(b, o, n) },
  '<i8': { bytes: 8, make: (b, o, n) => new BigInt64Array(b, o, n) },
};

function bad(file: string, problem: string, found?: string): CubeError {
  return new CubeError({
    place: file,
    problem: `not a valid .npy array (${problem})`,
    found,
    expected: `a C-order array of dtype ${Object.keys(DTYPES).join(', ')}`,
    fix: 'download the data again or check data_config',
  });
}

/** Parses one .npy member (format versions 1-3). `file` names it in errors, e.g. `mnist.npz:x_train.npy`. */
export function parseNpy(bytes: Uint8Array, file: string): NdArray {
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) throw bad(file, 'bad magic', `first bytes ${Buffer.from(bytes.subarray(0, 6)).toString('hex')}`);
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  if (headerStart + headerLen > bytes.length) throw bad(file, 'header runs past the end');
  const header = new TextDecoder().decode(bytes.subarray(headerStart, headerStart + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw bad(file, 'unreadable header', header.trim());
  if (fortran === 'True') throw bad(file, 'Fortran order is not supported', header.trim());
  const dt = DTYPES[descr === '<u1' ? '|u1' : descr === '<i1' ? '|i1' : descr];
  if (!dt) throw bad(file, 'unsupported dtype', descr);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw bad(file, 'bad shape', `(${shapeText})`);
  const count = shape.reduce((a, b) => a * b, 1);
  const start = headerStart + headerLen;
  if (bytes.length - start !== count * dt.bytes) {
    throw bad(file, `data has ${bytes.length - start} bytes, shape (${shape.join(', ')}) needs ${count * dt.bytes}`);
  }
  // Copy into a fresh, aligned buffer: typed arrays need offsets that are multiples of their element size.
  const copy = new Uint8Array(count * dt.bytes);
  copy.set(bytes.subarray(start));
  return { dtype: descr, shape, data: dt.make(copy.buffer, 0, count) };
}

/** Serialises a uint8 array as .npy version 1.0, header padded to 64 bytes as numpy does. */
export function writeNpyU8(data: Uint8Array, shape: number[]): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '|u1', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.length);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(data, 10 + header.length);
  return out;
}
