import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';

/**
 * Reads a file the way a verifier must: never through a symlink (O_NOFOLLOW), never blocking on a FIFO or device
 * (O_NONBLOCK, then fstat must say regular file). Returns the bytes, or why it could not read them.
 */
export function readRegularFile(path: string): { ok: true; data: Buffer } | { ok: false; why: string } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { ok: false, why: code === 'ENOENT' ? 'is missing' : code === 'ELOOP' ? 'is a symbolic link' : `cannot be read (${code})` };
  }
  try {
    if (!fstatSync(fd).isFile()) return { ok: false, why: 'is not a regular file' };
    return { ok: true, data: readFileSync(fd) };
  } catch (e) {
    return { ok: false, why: `cannot be read (${(e as NodeJS.ErrnoException).code})` };
  } finally {
    closeSync(fd);
  }
}
