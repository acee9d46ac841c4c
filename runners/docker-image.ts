import { existsSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type Docker from 'dockerode';
import dockerignoreModule from '@balena/dockerignore';
import { ImageError } from '../src/errors.js';
import type { Logger } from '../src/log.js';
import type { DockerSettings } from './docker-config.js';

export type BuildStrategy = 'pull' | 'auto' | 'always' | 'never';

export interface BuildSource {
  context: string;
  dockerfile: string;
  exists: boolean;
}

/** build_context relative to the cube root, build_file relative to the context (Python DockerRun). */
export function buildSource(root: string, s: Pick<DockerSettings, 'buildContext' | 'buildFile'>): BuildSource {
  const context = resolve(root, s.buildContext);
  const dockerfile = resolve(context, s.buildFile);
  return { context, dockerfile, exists: existsSync(dockerfile) };
}

/** What dockerode's error for an Engine reply says: its HTTP status, and the Engine's own message when it sent one. */
export function engineError(caught: unknown): { statusCode?: number; message: string } {
  const e = caught as { statusCode?: number; json?: { message?: string }; message?: string } | undefined;
  return { statusCode: e?.statusCode, message: e?.json?.message ?? e?.message ?? String(caught) };
}

/** What `configure` does for a strategy (reference §4.1), plus `never` (use the local image only). */
export function configureAction(strategy: BuildStrategy, recipeExists: boolean): 'pull' | 'build' | 'none' {
  if (strategy === 'never') return 'none';
  if (strategy === 'pull' || !recipeExists) return 'pull';
  return 'build';
}

/** Before a run: configure when the image is missing, or always under `always` (Python's rule). */
export function needsConfigure(strategy: BuildStrategy, imageExists: boolean): boolean {
  return strategy === 'always' || (!imageExists && strategy !== 'never');
}

/** The build context as a tar stream (tar package), honouring .dockerignore (docker's own matching rules). */
export async function contextStream(source: BuildSource): Promise<NodeJS.ReadableStream> {
  // Loaded here, not with the runner: only builds need it (~5 ms of every docker run otherwise).
  const tar = await import('tar');
  const ignoreFile = join(source.context, '.dockerignore');
  // CommonJS module whose typings declare an ES default export.
  const mod = dockerignoreModule as unknown as { default?: typeof dockerignoreModule };
  const dockerignore = (mod.default ?? dockerignoreModule) as unknown as (o: { ignoreCase: boolean }) => { add(p: string): void; ignores(p: string): boolean };
  const ig = dockerignore({ ignoreCase: false });
  if (existsSync(ignoreFile)) ig.add(readFileSync(ignoreFile, 'utf8'));
  const dockerfileRel = relative(source.context, source.dockerfile);
  return tar.create(
    {
      cwd: source.context,
      portable: true,
      filter: (path) => {
        const rel = path.replace(/^\.\/?/, '');
        if (rel === '' || rel === dockerfileRel || rel === '.dockerignore') return true;
        return !ig.ignores(rel);
      },
    },
    ['.'],
  ) as unknown as NodeJS.ReadableStream;
}

export interface ProgressEvent {
  stream?: string;
  status?: string;
  id?: string;
  progress?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string };
}

/**
 * Follows a pull/build JSON stream to its end. The Engine reports failures inside an HTTP-200 stream
 * (docker-modem#146), and dockerode's pull resolves before the pull is done (dockerode#647).
 */
export function follow(docker: Docker, stream: NodeJS.ReadableStream, onEvent: (e: ProgressEvent) => void): Promise<ProgressEvent[]> {
  return new Promise((resolvePromise, reject) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null, events: ProgressEvent[]) => (err ? reject(err) : resolvePromise(events)),
      (e: ProgressEvent) => onEvent(e),
    );
  });
}

/** The failure the Engine reported inside a 200 stream, if any. */
export function streamError(events: ProgressEvent[]): string | undefined {
  const bad = events.find((e) => e.error || e.errorDetail);
  return bad ? (bad.errorDetail?.message ?? bad.error) : undefined;
}

/** The image's inspect data, or undefined when the daemon does not have it (any other failure throws). */
export async function inspectImage(docker: Docker, image: string): Promise<Docker.ImageInspectInfo | undefined> {
  try {
    return await docker.getImage(image).inspect();
  } catch (caught) {
    if (engineError(caught).statusCode === 404) return undefined;
    throw caught;
  }
}

export async function imageExists(docker: Docker, image: string): Promise<boolean> {
  return (await inspectImage(docker, image)) !== undefined;
}

export async function pullImage(docker: Docker, image: string, log: Logger, buildable: boolean): Promise<void> {
  log.info(`pulling image ${image}`);
  const layers = new Map<string, string>();
  let lastReport = 0;
  let events: ProgressEvent[];
  try {
    const stream = await docker.pull(image);
    events = await follow(docker, stream, (e) => {
      if (e.id && e.status) layers.set(e.id, `${e.status}${e.progress ? ` ${e.progress}` : ''}`);
      const now = Date.now();
      if (now - lastReport > 1000) {
        lastReport = now;
        const done = [...layers.values()].filter((s) => /complete|exists/i.test(s)).length;
        log.info(`pull ${image}: ${done}/${layers.size} layers done`);
      }
    });
  } catch (caught) {
    throw pullError(image, engineError(caught).message, buildable);
  }
  const failure = streamError(events);
  if (failure) throw pullError(image, failure, buildable);
  log.info(`pulled ${image}`);
}

function pullError(image: string, message: string, buildable: boolean): ImageError {
  return new ImageError(`cannot pull image ${image}: ${String(message).trim()}`, {
    suggestions: [
      buildable
        ? 'Build it locally instead: -Pdocker.build_strategy=auto (the cube has a Dockerfile).'
        : 'Check the image name and your network/registry access, or build the image locally and use -Pdocker.build_strategy=never.',
    ],
  });
}

export async function buildImage(docker: Docker, image: string, source: BuildSource, buildargs: Record<string, string>, log: Logger): Promise<void> {
  log.info(`building image ${image} from ${source.dockerfile} (context ${source.context})`);
  const tail: string[] = [];
  let events: ProgressEvent[];
  try {
    const stream = await docker.buildImage(await contextStream(source), { t: image, dockerfile: relative(source.context, source.dockerfile), buildargs, rm: true, forcerm: true });
    events = await follow(docker, stream, (e) => {
      if (e.stream) {
        process.stderr.write(e.stream);
        tail.push(...e.stream.split('\n').filter(Boolean));
        tail.splice(0, Math.max(0, tail.length - 20));
      }
    });
  } catch (caught) {
    throw buildError(image, engineError(caught).message, tail);
  }
  const failure = streamError(events);
  if (failure) throw buildError(image, failure, tail);
  log.info(`built ${image}`);
}

function buildError(image: string, message: string, tail: string[]): ImageError {
  return new ImageError(`building image ${image} failed: ${String(message).trim()}${tail.length ? `\n  last build output:\n    ${tail.slice(-10).join('\n    ')}` : ''}`, {
    suggestions: ['Fix the failing Dockerfile step shown above, then run `mlcube configure` again.'],
  });
}
