import type { JobControl, RunnerDescription } from '../src/runner.js';
import { charliecloudRunner } from './charliecloud-config.js';
import { dockerRunner } from './docker-config.js';
import { localRunner } from './local-config.js';
import { singularityRunner } from './singularity-config.js';
import { slurmRunner } from './slurm-config.js';

/**
 * The only place that lists the runners: one description each (runners/<name>-config.ts), light to load (each
 * runner's client loads on create()). The config layer takes the platforms, schemas and defaults from here, the
 * build the runner schemas; the order is that of the built-in platforms.
 */
export const RUNNERS: readonly RunnerDescription[] = [dockerRunner, singularityRunner, localRunner, slurmRunner, charliecloudRunner];

export function findRunner(name: string): RunnerDescription | undefined {
  return RUNNERS.find((r) => r.name === name);
}

/** The job control of a batch runner (`mlcube status` / `mlcube cancel`), loaded only when asked. */
export async function jobControl(runner: string): Promise<JobControl> {
  const r = findRunner(runner);
  if (!r?.jobControl) throw new Error(`internal: the ${runner} runner has no job control`);
  return r.jobControl();
}

export { parsePackages, validSuite } from './docker-base-spec.js';
export type { BaseImageResult } from './docker-base-image.js';

/** The docker runner's registry-free base images (`mlcube base-image`); dockerode loads only when asked. */
export async function makeBaseImage(
  spec: Omit<import('./docker-base-spec.js').BaseSpec, 'suite'> & { suite?: string },
  opts: { tag?: string; rebuild?: boolean },
  log: import('../src/log.js').Logger,
): Promise<import('./docker-base-image.js').BaseImageResult> {
  const { ensureBaseImage } = await import('./docker-base-image.js');
  return ensureBaseImage(spec, opts, log);
}

/** Force-removes a killed run's containers (label org.mlcommons.mlcube.run-id); dockerode loads only when asked. */
export async function removeRunContainers(runId: string, dockerHost: string): Promise<string[]> {
  const docker = await import('./docker.js');
  return docker.removeRunContainers(runId, dockerHost);
}
