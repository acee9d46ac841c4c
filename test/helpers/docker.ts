import { expect } from 'chai';
import type { Context } from 'mocha';
import Docker from 'dockerode';
import { DockerRunner } from '../../runners/docker.js';
import { mlcube } from './cli.js';

/**
 * The set-up of a suite that runs images on the real daemon: skips (printing `why` and what the probe found) when no
 * daemon answers or the base image cannot be made here (mmdebstrap missing), else makes (or reuses) the local base
 * image the fixtures build on (`mlcube base-image`: no registry is reachable).
 */
export async function requireDockerBaseImage(ctx: Context, why: string): Promise<void> {
  const a = await new DockerRunner().probe();
  if (!a.available) {
    console.warn(`    skip: ${why}: ${a.reason}`);
    ctx.skip();
  }
  const base = await mlcube(['base-image']);
  if (base.exitCode === 3) {
    console.warn(`    skip: ${why} and the base image made by mlcube base-image: ${base.stderr.trim().split('\n').slice(-2).join(' ')}`);
    ctx.skip();
  }
  expect(base.exitCode, base.stderr).to.equal(0);
}

/** Removes an image a suite made (never one it did not make); an image already gone is fine. */
export async function removeTestImage(tag: string): Promise<void> {
  await new Docker()
    .getImage(tag)
    .remove({ force: true })
    .catch(() => undefined);
}
