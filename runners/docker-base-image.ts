import type Docker from 'dockerode';
import * as tar from 'tar';
import { execa } from 'execa';
import { ImageError } from '../src/errors.js';
import type { Logger } from '../src/log.js';
import { engineError, follow, streamError } from './docker-image.js';
import { localDocker } from './docker.js';

/** Files a rootfs needs to run this host's `node`: the binary and every shared library `ldd` lists. */
export async function nodeRootfsFiles(nodePath = process.execPath): Promise<string[]> {
  const { stdout } = await execa('ldd', [nodePath]);
  const libs = stdout
    .split('\n')
    .map((l) => /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(l)?.[1])
    .filter((p): p is string => !!p);
  return [...new Set([nodePath, ...libs])];
}

/**
 * Makes a base image with no registry: a rootfs holding the host's node and its shared libraries,
 * streamed as a tar (tar package, symlinks followed) into the Engine's image import.
 */
export async function buildNodeBaseImage(tag: string, log: Logger, docker: Docker = localDocker()): Promise<string> {
  const files = await nodeRootfsFiles();
  log.info(`importing ${files.length} files (${files.join(', ')}) as ${tag}`);
  const rootfs = tar.create(
    { cwd: '/', follow: true, portable: true },
    files.map((f) => f.replace(/^\//, '')),
  ) as unknown as NodeJS.ReadableStream;
  const [repo, version] = tag.includes(':') ? [tag.slice(0, tag.lastIndexOf(':')), tag.slice(tag.lastIndexOf(':') + 1)] : [tag, 'latest'];
  try {
    const stream = (await docker.importImage(rootfs, {
      repo,
      tag: version,
      changes: ['ENV PATH=/usr/local/bin:/usr/bin:/bin', 'ENV HOME=/tmp', 'WORKDIR /tmp', `CMD ["${process.execPath}"]`],
    })) as unknown as NodeJS.ReadableStream;
    const failure = streamError(await follow(docker, stream, () => undefined));
    if (failure) throw new Error(failure);
  } catch (caught) {
    throw new ImageError(`importing the base image ${tag} failed: ${engineError(caught).message}`, { suggestions: ['Check that the Docker daemon runs (mlcube doctor) and that ldd is installed.'] });
  }
  const info = await docker.getImage(tag).inspect();
  return info.Id;
}
