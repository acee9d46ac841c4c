import { resolve } from 'node:path';
import { ConfigError } from '../src/errors.js';
import { isTree, merge, type Tree } from '../src/config/tree.js';
import { commonSettings, runnerSection, runtimePaths } from '../src/config/runner-settings.js';
import type { RunnerDescription, RunnerSettings } from '../src/runner.js';
import { jobGpus } from './slurm-spec.js';

/** The slurm runner's settings: its section of the effective configuration, parsed once. */
export interface SlurmSettings extends RunnerSettings {
  /** The platform that runs each task on the compute node. */
  inner: string;
  partition: string | undefined;
  account: string | undefined;
  time: string | undefined;
  cpusPerTask: number | undefined;
  mem: string | undefined;
  /** GPUs per job (--gres=gpu:N): slurm.gpus, else the count the GPU request asks for. */
  gpusPerJob: number;
  sbatchArgs: string[];
  /** Lines of the job script run before the task. */
  setup: string[];
  /** node on the compute nodes; undefined: the node running this CLI. */
  node: string | undefined;
  /** Where the jobs write their output (resolved against the workspace). */
  logDir: string;
  /** How often an attached run asks Slurm about its jobs. */
  pollMs: number;
}

/** The slurm platform: the cube's optional `slurm:` section merged into the runner; the inner platform runs the task. */
export const slurmRunner: RunnerDescription<SlurmSettings> = {
  name: 'slurm',
  section: 'slurm',
  schema: 'runner-slurm.schema.json',
  // The tasks run on the inner platform's runner, on the compute node: what they see is that runner's.
  capabilities: { seesHostPaths: false, batch: true, enforcesReadOnly: false },
  flagKeys: { gpus: '--gpus', mount: '--mount_opts', memory: 'mem' },
  merge(cfg) {
    if (isTree(cfg.slurm)) cfg.runner = merge(cfg.runner as Tree, cfg.slurm);
  },
  validate(cfg) {
    const inner = (cfg.runner as Tree).inner;
    if (inner === 'slurm') {
      throw new ConfigError('slurm.inner is "slurm": a Slurm job cannot submit itself again', {
        configPath: ['runner', 'inner'],
        suggestions: ['Use the runner that should run the task on the compute node: -Pslurm.inner=singularity (or charliecloud, docker, local).'],
      });
    }
  },
  settings(cfg) {
    const common = commonSettings(cfg, slurmRunner);
    const r = runnerSection(cfg, slurmRunner);
    return {
      ...common,
      inner: r.required('inner', 'singularity'),
      partition: r.nonEmpty('partition'),
      account: r.nonEmpty('account'),
      time: r.nonEmpty('time'),
      cpusPerTask: r.num('cpus_per_task') || undefined,
      mem: r.nonEmpty('mem'),
      gpusPerJob: jobGpus(r.num('gpus'), common.gpus),
      sbatchArgs: r.words('sbatch_args'),
      setup: r.list('setup'),
      node: r.str('node'),
      logDir: resolve(runtimePaths(cfg).workspace, r.required('log_dir', '/shared/slurm-logs')),
      pollMs: Math.max(0.2, r.num('poll_seconds') ?? 2) * 1000,
    };
  },
  async create() {
    const { SlurmRunner } = await import('./slurm.js');
    return new SlurmRunner();
  },
  async jobControl() {
    const { jobState, cancelJobs } = await import('./slurm.js');
    return { jobState, cancelJobs };
  },
};
