import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { execa } from 'execa';
import { ImageError, RuntimeUnavailableError, UsageError } from '../src/errors.js';
import type { Logger } from '../src/log.js';
import { BASE_LABEL, baseImageCommand, baseLabel, baseTag, importChanges, mmdebstrapArgs, mmdebstrapFix, NODE_REPO, parseBaseTag, type BaseSpec } from './docker-base-spec.js';
import type { DockerfileBase } from './docker-from.js';
import { engineError, follow, imageExists, inspectImage, streamError } from './docker-image.js';
import { localDocker } from './docker.js';

export const NODE_MAJOR = process.versions.node.split('.')[0];

/** Debian's own apt source files, where the host has them (a Debian install writes one of these). */
const HOST_SOURCES = ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list'];

/** This host's Debian release (os-release VERSION_CODENAME), undefined on another system. */
export function hostSuite(osRelease = '/etc/os-release'): string | undefined {
  if (!existsSync(osRelease)) return undefined;
  const text = readFileSync(osRelease, 'utf8');
  if (!/^ID=("?)debian\1$/m.test(text)) return undefined;
  return /^VERSION_CODENAME=("?)([a-z]+)\1$/m.exec(text)?.[2];
}

export interface BaseImageResult {
  tag: string;
  id: string;
  size_bytes: number;
  /** The image that was there already (same label) was kept. */
  reused: boolean;
  /** Time to make it; absent when reused. */
  seconds?: number;
}

/**
 * Makes (or reuses) a registry-free base image: a Debian minbase root filesystem made by mmdebstrap from the host's
 * Debian package source, imported as a tar file through the Engine's image import. An image of the tag whose label
 * says it holds the same suite, packages (and node) is reused unless `rebuild`.
 */
export async function ensureBaseImage(
  wanted: Omit<BaseSpec, 'suite'> & { suite?: string },
  opts: { tag?: string; rebuild?: boolean },
  log: Logger,
  docker: Docker = localDocker(),
): Promise<BaseImageResult> {
  const here = hostSuite();
  const suite = wanted.suite ?? here;
  if (!suite) {
    throw new UsageError('this host is not Debian (/etc/os-release names no Debian release), so the base image has no default suite', {
      place: { parameter: '--suite' },
      suggestions: ["Name the Debian release: --suite=bookworm (packages then come from mmdebstrap's default mirror, deb.debian.org)."],
    });
  }
  const spec: BaseSpec = { ...wanted, suite };
  const tag = opts.tag ?? baseTag(spec, NODE_MAJOR);
  const label = baseLabel(spec, process.version);
  const found = await inspectImage(docker, tag).catch((caught: unknown) => {
    throw new ImageError(`cannot inspect the image ${tag}: ${engineError(caught).message}`, { suggestions: ['Check that the Docker daemon runs (mlcube doctor).'] });
  });
  const foundLabel = found?.Config?.Labels?.[BASE_LABEL];
  if (found && foundLabel === label && !opts.rebuild) {
    log.info(`reusing ${tag}: it holds the same (${label}); --rebuild makes it again`);
    return { tag, id: found.Id, size_bytes: found.Size, reused: true };
  }
  if (found && !opts.rebuild) log.info(`${tag} exists but holds ${foundLabel ? `"${foundLabel}"` : 'no mlcube base-image label'}, not "${label}": making it again`);
  const sources = spec.suite === here ? HOST_SOURCES.filter((f) => existsSync(f) && statSync(f).size > 0) : [];
  const dir = mkdtempSync(join(tmpdir(), 'mlcube-base-'));
  const started = Date.now();
  try {
    const out = join(dir, 'rootfs.tar');
    const args = mmdebstrapArgs(spec, out, sources, process.execPath);
    log.info(
      `making ${tag} (${baseImageCommand(spec, here)}): Debian ${spec.suite} minbase${spec.packages.length ? ` + ${spec.packages.join(', ')}` : ''}${spec.node ? ` + this host's node ${process.version}` : ''}, with mmdebstrap from ${sources.length ? sources.join(' and ') : "mmdebstrap's default mirror"} (~30 s)`,
    );
    log.debug(`mmdebstrap ${args.map((a) => (/[\s"$]/.test(a) ? `'${a}'` : a)).join(' ')}`);
    const r = await execa('mmdebstrap', args, { all: true, reject: false, stdin: 'ignore' });
    if (r.failed && (r as { code?: string }).code === 'ENOENT') {
      throw new RuntimeUnavailableError(`making ${tag} needs mmdebstrap, which is not installed`, { suggestions: ['Install it: apt-get install mmdebstrap (Debian and Ubuntu package it).'] });
    }
    const output = String(r.all ?? '');
    for (const line of output.split('\n').filter(Boolean)) log.debug(`mmdebstrap: ${line}`);
    if (r.exitCode !== 0) {
      const tail = output.split('\n').filter(Boolean).slice(-8);
      throw new ImageError(`making ${tag} failed: mmdebstrap exited with ${r.exitCode ?? r.signal}\n  last mmdebstrap output:\n    ${tail.join('\n    ')}`, {
        suggestions: [mmdebstrapFix(output)],
      });
    }
    const colon = tag.lastIndexOf(':');
    const [repo, version] = colon > tag.lastIndexOf('/') ? [tag.slice(0, colon), tag.slice(colon + 1)] : [tag, 'latest'];
    try {
      const stream = (await docker.importImage(createReadStream(out), { repo, tag: version, changes: importChanges(spec, label) })) as unknown as NodeJS.ReadableStream;
      const failure = streamError(await follow(docker, stream, () => undefined));
      if (failure) throw new Error(failure);
    } catch (caught) {
      throw new ImageError(`importing the base image ${tag} failed: ${engineError(caught).message}`, { suggestions: ['Check that the Docker daemon runs (mlcube doctor).'] });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const info = await docker.getImage(tag).inspect();
  const seconds = Math.round((Date.now() - started) / 100) / 10;
  log.info(`made ${tag} in ${seconds} s (${(info.Size / 1e6).toFixed(0)} MB)`);
  return { tag, id: info.Id, size_bytes: info.Size, reused: false, seconds };
}

/**
 * Before a build: each base image of the Dockerfile that is missing from the daemon and is one of mlcube's own
 * (a tag baseTag makes) is made now, as `mlcube base-image` would, and the log says so. Others are left to the
 * build, which pulls them.
 */
export async function makeMissingBases(docker: Docker, bases: readonly DockerfileBase[], dockerfile: string, log: Logger): Promise<void> {
  const here = hostSuite();
  for (const b of bases) {
    const spec = parseBaseTag(b.image, NODE_MAJOR, here);
    if (!spec) continue;
    const found = await inspectImage(docker, b.image);
    // An image of our tag without our label was made by an older mlcube (node and its libraries only: no shell, no
    // librt for ONNX Runtime): building on it would fail later, inside the task.
    if (found && found.Config?.Labels?.[BASE_LABEL]) continue;
    const how = `as \`${baseImageCommand(spec, here)}\` does`;
    log.info(
      found
        ? `the base image ${b.image} (${dockerfile}:${b.line}) has no ${BASE_LABEL} label: an older mlcube made it (node only, no shell); making it again, ${how}`
        : `the base image ${b.image} (${dockerfile}:${b.line}) is not in the local Docker daemon: making it, ${how}`,
    );
    await ensureBaseImage(spec, {}, log, docker);
  }
}

/**
 * After a failed build: the first base image still missing from the daemon (so the build could not pull it), as an
 * error naming it, its FROM line and how to build on a base image made here instead; undefined when all are there.
 */
export async function missingBaseError(docker: Docker, bases: readonly DockerfileBase[], dockerfile: string, image: string, engineMessage: string): Promise<ImageError | undefined> {
  for (const b of bases) {
    if (await imageExists(docker, b.image).catch(() => true)) continue;
    const python = /python/i.test(b.image);
    const here = hostSuite() ?? 'bookworm';
    const made = python
      ? { cmd: 'mlcube base-image --debian --packages=python3', tag: baseTag({ node: false, suite: here, packages: ['python3'] }, NODE_MAJOR) }
      : { cmd: 'mlcube base-image', tag: `${NODE_REPO}:${NODE_MAJOR}` };
    const use = b.arg ? `build on it: -Pdocker.build_args.${b.arg}=${made.tag}` : `start the Dockerfile FROM ${made.tag}`;
    return new ImageError(`building image ${image} failed: its base image ${b.image} is not in the local Docker daemon and could not be pulled (the build said: ${engineMessage.trim()})`, {
      place: { file: dockerfile, line: b.line },
      suggestions: [`Make a base image on this machine with \`${made.cmd}\` (no registry needed) and ${use}; or pull ${b.image} where a registry is reachable.`],
    });
  }
  return undefined;
}
