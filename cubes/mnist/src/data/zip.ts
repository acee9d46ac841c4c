import { inflateRawSync } from 'node:zlib';
import { CubeError } from '../errors.js';
import { crc32 } from 'node:zlib';
import { deflateRawSync } from 'node:zlib';

const EOCD = 0x06054b50;
const CEN = 0x02014b50;
const LOC = 0x04034b50;
const ZIP64_EOCD = 0x06064b50;
const ZIP64_LOCATOR = 0x07064b50;

function corrupt(file: string, problem: string): CubeError {
  return new CubeError({
    place: file,
    problem: `not a valid zip archive (${problem})`,
    expected: 'a .npz file as written by numpy.savez',
    fix: 'delete the file and download it again, or check the hash in data_config',
  });
}

/**
 * Reads every member of a zip archive (stored or deflated, zip64 sizes included) and checks each CRC-32.
 * `file` names the archive in errors.
 */
export function readZip(buf: Uint8Array, file: string): Map<string, Uint8Array> {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw corrupt(file, 'no end-of-central-directory record; the file is truncated or not a zip');
  let count = view.getUint16(eocd + 10, true);
  let cdOffset = view.getUint32(eocd + 16, true);
  if ((count === 0xffff || cdOffset === 0xffffffff) && eocd >= 20 && view.getUint32(eocd - 20, true) === ZIP64_LOCATOR) {
    const z = Number(view.getBigUint64(eocd - 12, true));
    if (z + 56 > buf.length || view.getUint32(z, true) !== ZIP64_EOCD) throw corrupt(file, 'bad zip64 record');
    count = Number(view.getBigUint64(z + 32, true));
    cdOffset = Number(view.getBigUint64(z + 48, true));
  }
  const out = new Map<string, Uint8Array>();
  let p = cdOffset;
  for (let n = 0; n < count; n++) {
    if (p + 46 > buf.length || view.getUint32(p, true) !== CEN) throw corrupt(file, `central directory entry ${n} is damaged`);
    const method = view.getUint16(p + 10, true);
    const crc = view.getUint32(p + 16, true);
    let csize = view.getUint32(p + 20, true);
    let usize = view.getUint32(p + 24, true);
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    let local = view.getUint32(p + 42, true);
    const name = new TextDecoder().decode(buf.subarray(p + 46, p + 46 + nameLen));
    let e = p + 46 + nameLen;
    const eEnd = e + extraLen;
    while (e + 4 <= eEnd) {
      const id = view.getUint16(e, true);
      const size = view.getUint16(e + 2, true);
      if (id === 0x0001) {
        let q = e + 4;
        if (usize === 0xffffffff) {
          usize = Number(view.getBigUint64(q, true));
          q += 8;
        }
        if (csize === 0xffffffff) {
          csize = Number(view.getBigUint64(q, true));
          q += 8;
        }
        if (local === 0xffffffff) local = Number(view.getBigUint64(q, true));
      }
      e += 4 + size;
    }
    p = eEnd + commentLen;
    if (local + 30 > buf.length || view.getUint32(local, true) !== LOC) throw corrupt(file, `local header of ${name} is damaged`);
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    if (start + csize > buf.length) throw corrupt(file, `member ${name} runs past the end of the file (truncated)`);
    const raw = buf.subarray(start, start + csize);
    let data: Uint8Array;
    if (method === 0) data = raw;
    else if (method === 8) {
      try {
        data = inflateRawSync(raw);
      } catch (err) {
        throw corrupt(file, `member ${name} does not inflate: ${(err as Error).message}`);
      }
    } else throw corrupt(file, `member ${name} uses compression method ${method}; only stored (0) and deflate (8) are supported`);
    if (data.length !== usize) throw corrupt(file, `member ${name} has ${data.length} bytes, its header says ${usize}`);
    if (crc32(data) !== crc) throw corrupt(file, `member ${name} fails its CRC-32 check`);
    out.set(name, data);
  }
  return out;
}

/** Writes a zip archive (no zip64; members under 4 GiB). `compress` deflates members with zlib (its bytes vary across zlib builds: pinned files are stored). */
export function writeZip(members: ReadonlyArray<[string, Uint8Array]>, compress: boolean): Buffer {
  const chunks: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of members) {
    const nameBytes = Buffer.from(name, 'utf8');
    const body = compress ? deflateRawSync(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const crc = crc32(data);
    const method = compress ? 8 : 0;
    const loc = Buffer.alloc(30);
    loc.writeUInt32LE(LOC, 0);
    loc.writeUInt16LE(20, 4);
    loc.writeUInt16LE(0, 6);
    loc.writeUInt16LE(method, 8);
    loc.writeUInt16LE(0, 10);
    loc.writeUInt16LE(0x21, 12); // fixed 1980-01-01 timestamp: reproducible bytes
    loc.writeUInt32LE(crc, 14);
    loc.writeUInt32LE(body.length, 18);
    loc.writeUInt32LE(data.length, 22);
    loc.writeUInt16LE(nameBytes.length, 26);
    loc.writeUInt16LE(0, 28);
    const cen = Buffer.alloc(46);
    cen.writeUInt32LE(CEN, 0);
    cen.writeUInt16LE(20, 4);
    cen.writeUInt16LE(20, 6);
    cen.writeUInt16LE(0, 8);
    cen.writeUInt16LE(method, 10);
    cen.writeUInt16LE(0, 12);
    cen.writeUInt16LE(0x21, 14);
    cen.writeUInt32LE(crc, 16);
    cen.writeUInt32LE(body.length, 20);
    cen.writeUInt32LE(data.length, 24);
    cen.writeUInt16LE(nameBytes.length, 28);
    cen.writeUInt32LE(offset, 42);
    chunks.push(loc, nameBytes, body);
    central.push(cen, nameBytes);
    offset += loc.length + nameBytes.length + body.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(EOCD, 0);
  end.writeUInt16LE(members.length, 8);
  end.writeUInt16LE(members.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...chunks, cd, end]);
}
