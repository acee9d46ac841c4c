import { type NdArray, parseNpy, writeNpyU8 } from './npy.js';
import { readZip, writeZip } from './zip.js';

/** Reads a .npz archive (numpy.savez / savez_compressed) into arrays keyed without the `.npy` suffix. */
export function readNpz(buf: Uint8Array, file: string): Map<string, NdArray> {
  const out = new Map<string, NdArray>();
  for (const [name, bytes] of readZip(buf, file)) {
    if (!name.endsWith('.npy')) continue;
    out.set(name.slice(0, -4), parseNpy(bytes, `${file}:${name}`));
  }
  return out;
}

/** Writes uint8 arrays as a .npz archive; `compress` gives numpy.savez_compressed's layout. */
export function writeNpz(arrays: ReadonlyArray<[string, Uint8Array, number[]]>, compress: boolean): Buffer {
  return writeZip(
    arrays.map(([name, data, shape]) => [`${name}.npy`, writeNpyU8(data, shape)]),
    compress,
  );
}
