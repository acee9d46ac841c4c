import type { RunnerConfigSpec } from '../src/runner.js';
import { charliecloudConfig } from './charliecloud-config.js';
import { dockerConfig } from './docker-config.js';
import { localConfig } from './local-config.js';
import { singularityConfig } from './singularity-config.js';
import { slurmConfig } from './slurm-config.js';

/** The only place that lists the runners. Config specs are light; each runner's client loads on create(). */
export const RUNNERS: readonly RunnerConfigSpec[] = [dockerConfig, singularityConfig, charliecloudConfig, localConfig, slurmConfig];

export function findRunner(name: string): RunnerConfigSpec | undefined {
  return RUNNERS.find((r) => r.name === name);
}

/** The docker runner's registry-free base image (`mlcube base-image`); dockerode loads only when asked. */
export async function makeNodeBaseImage(tag: string, log: import('../src/log.js').Logger): Promise<string> {
  const { buildNodeBaseImage } = await import('./docker-base-image.js');
  return buildNodeBaseImage(tag, log);
}

/** Slurm job control for `mlcube status` / `mlcube cancel` (loaded only when asked). */
export async function slurmJobControl() {
  const { jobState, cancelJobs } = await import('./slurm.js');
  return { jobState, cancelJobs };
}

/** Force-removes a killed run's containers (label org.mlcommons.mlcube.run-id); dockerode loads only when asked. */
export async function removeRunContainers(runId: string, dockerHost: string): Promise<string[]> {
  const docker = await import('./docker.js');
  return docker.removeRunContainers(runId, dockerHost);
}
