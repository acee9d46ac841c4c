import { expect } from 'chai';
import { datasetFromNpz, validateDataFile } from '../src/data/dataset.js';
import { parseIdx, writeIdx, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC } from '../src/data/idx.js';
import { parseNpy } from '../src/data/npy.js';
import { readNpz, writeNpz } from '../src/data/npz.js';
import { writeZip } from '../src/data/zip.js';

function npyV1(descr: string, shape: string, body: Uint8Array): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(body, 10 + header.length);
  return out;
}

describe('mnist cube: data formats', () => {
  const images = Uint8Array.from({ length: 3 * 784 }, (_, i) => (i * 7) % 256);
  const labels = Uint8Array.of(7, 0, 9);

  it('reads an npz it wrote, stored and deflated, with known contents', () => {
    for (const compress of [false, true]) {
      const npz = writeNpz(
        [
          ['x_train', images, [3, 28, 28]],
          ['y_train', labels, [3]],
          ['x_test', images, [3, 28, 28]],
          ['y_test', labels, [3]],
        ],
        compress,
      );
      const arrays = readNpz(npz, 't.npz');
      expect([...arrays.keys()]).to.deep.equal(['x_train', 'y_train', 'x_test', 'y_test']);
      expect(arrays.get('x_train')!.shape).to.deep.equal([3, 28, 28]);
      expect(Buffer.from(arrays.get('x_train')!.data.buffer as ArrayBuffer).equals(Buffer.from(images))).to.equal(true);
      const ds = datasetFromNpz(npz, 't.npz');
      expect([...ds.test.labels]).to.deep.equal([7, 0, 9]);
    }
  });

  it('reads numpy int64 labels (as some npz writers store them)', () => {
    const body = new Uint8Array(new BigInt64Array([3n, 1n, 4n]).buffer);
    const zip = writeZip(
      [
        ['x_train.npy', npyV1('|u1', '(3, 28, 28)', images)],
        ['y_train.npy', npyV1('<i8', '(3,)', body)],
        ['x_test.npy', npyV1('|u1', '(3, 28, 28)', images)],
        ['y_test.npy', npyV1('<i8', '(3,)', body)],
      ],
      true,
    );
    expect([...datasetFromNpz(zip, 'i8.npz').train.labels]).to.deep.equal([3, 1, 4]);
  });

  it('rejects a damaged npz: CRC mismatch, truncation, bad npy header', () => {
    const npz = writeNpz([['x_train', images, [3, 28, 28]]], false);
    const flipped = Buffer.from(npz);
    flipped[200] ^= 0xff;
    expect(() => readNpz(flipped, 'bad.npz')).to.throw(/bad\.npz: not a valid zip archive \(member x_train\.npy fails its CRC-32 check\)/);
    expect(() => readNpz(npz.subarray(0, npz.length - 30), 'cut.npz')).to.throw(/cut\.npz: not a valid zip archive/);
    expect(() => parseNpy(new Uint8Array(20), 'x.npy')).to.throw(/x\.npy: not a valid \.npy array \(bad magic\)/);
  });

  it("parses IDX images and labels, gzip'd or not", () => {
    for (const gz of [false, true]) {
      const img = parseIdx(writeIdx(images, [3, 28, 28], gz), 'img', IDX_IMAGES_MAGIC);
      expect(img.shape).to.deep.equal([3, 28, 28]);
      expect(Buffer.from(img.data).equals(Buffer.from(images))).to.equal(true);
      const lab = parseIdx(writeIdx(labels, [3], gz), 'lab', IDX_LABELS_MAGIC);
      expect([...lab.data]).to.deep.equal([7, 0, 9]);
    }
  });

  it('names the file, the magic found and the magic expected for a wrong IDX magic number', () => {
    const swapped = writeIdx(labels, [3], true);
    expect(() => validateDataFile('train-images-idx3-ubyte.gz', swapped, 'http://x/train-images-idx3-ubyte.gz')).to.throw(
      /http:\/\/x\/train-images-idx3-ubyte\.gz: wrong IDX magic number; found 0x00000801; expected 0x00000803/,
    );
  });

  it('reports a truncated gzip as corrupt and a short IDX as truncated', () => {
    const gz = writeIdx(images, [3, 28, 28], true);
    expect(() => parseIdx(gz.subarray(0, gz.length - 10), 'cut.gz')).to.throw(/cut\.gz: corrupt gzip data/);
    const raw = writeIdx(images, [3, 28, 28], false);
    expect(() => parseIdx(raw.subarray(0, raw.length - 1), 'short')).to.throw(/short: IDX size does not match its header; found 2351 data bytes; expected 2352/);
  });
});
