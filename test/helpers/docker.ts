import { expect } from 'chai';
import type { Context } from 'mocha';
import { DockerRunner } from '../../runners/docker.js';
import { mlcube } from './cli.js';

/**
 * The set-up of a suite that runs images on the real daemon: skips (printing `why` and what the probe found) when no
 * daemon answers, else makes the local base image (`mlcube base-image`: no registry is reachable) the fixtures build on.
 */
export async function requireDockerBaseImage(ctx: Context, why: string): Promise<void> {
  const a = await new DockerRunner().probe();
  if (!a.available) {
    console.warn(`    skip: ${why}: ${a.reason}`);
    ctx.skip();
  }
  const base = await mlcube(['base-image']);
  expect(base.exitCode, base.stderr).to.equal(0);
}
