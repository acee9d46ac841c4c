import { gunzipSync, gzipSync } from 'node:zlib';
import { CubeError } from '../errors.js';

/** An IDX array (LeCun's MNIST format) of unsigned bytes. */
export interface IdxArray {
  shape: number[];
  data: Uint8Array;
}

/** Magic numbers of the two IDX files MNIST uses: 0x00000801 labels (1-D), 0x00000803 images (3-D). */
export const IDX_LABELS_MAGIC = 0x00000801;
export const IDX_IMAGES_MAGIC = 0x00000803;

/** Decompresses gzip data if it starts with the gzip magic; names the file in errors. */
export function maybeGunzip(buf: Uint8Array, file: string): Uint8Array {
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      return gunzipSync(buf);
    } catch (err) {
      throw new CubeError({
        place: file,
        problem: `corrupt gzip data (${(err as Error).message})`,
        expected: 'a complete .gz file',
        fix: 'the download was probably truncated: delete it and download again',
      });
    }
  }
  return buf;
}

/** Parses an IDX file (gzip'd or not) of unsigned bytes; `expectedMagic` pins labels or images. */
export function parseIdx(raw: Uint8Array, file: string, expectedMagic?: number): IdxArray {
  const buf = maybeGunzip(raw, file);
  if (buf.length < 4) throw new CubeError({ place: file, problem: 'too short for an IDX header', found: `${buf.length} bytes`, expected: 'at least 4 bytes' });
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = view.getUint32(0, false);
  const hex = `0x${magic.toString(16).padStart(8, '0')}`;
  if (expectedMagic !== undefined && magic !== expectedMagic) {
    throw new CubeError({
      place: file,
      problem: 'wrong IDX magic number',
      found: hex,
      expected: `0x${expectedMagic.toString(16).padStart(8, '0')}`,
      fix: 'check that the labels and images files are not swapped and that the URI points to an MNIST IDX file',
    });
  }
  if (buf[0] !== 0 || buf[1] !== 0 || buf[2] !== 0x08 || buf[3] < 1) {
    throw new CubeError({
      place: file,
      problem: 'wrong IDX magic number',
      found: hex,
      expected: '0x000008NN (unsigned bytes, NN dimensions)',
      fix: 'point the URI to an MNIST-style *-idx?-ubyte(.gz) file',
    });
  }
  const dims = buf[3];
  const shape: number[] = [];
  for (let i = 0; i < dims; i++) shape.push(view.getUint32(4 + 4 * i, false));
  const start = 4 + 4 * dims;
  const count = shape.reduce((a, b) => a * b, 1);
  if (buf.length - start !== count) {
    throw new CubeError({
      place: file,
      problem: 'IDX size does not match its header',
      found: `${buf.length - start} data bytes`,
      expected: `${count} for shape ${shape.join('x')}`,
      fix: 'the file is truncated or corrupt: download it again',
    });
  }
  return { shape, data: buf.subarray(start, start + count) };
}

/** Serialises unsigned bytes as an IDX file, gzip'd when `gzip` is true. */
export function writeIdx(data: Uint8Array, shape: number[], gzip = false): Buffer {
  const head = Buffer.alloc(4 + 4 * shape.length);
  head[2] = 0x08;
  head[3] = shape.length;
  shape.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  const out = Buffer.concat([head, data]);
  return gzip ? gzipSync(out) : out;
}
