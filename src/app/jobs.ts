import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jobControl } from '../../runners/index.js';
import { UsageError } from '../errors.js';
import type { AppEnv } from './context.js';
import { RECORDS_DIR } from '../params/isolation.js';
import { existingWorkspace, type WhereGiven } from '../config/workspace-location.js';

export interface JobsOptions extends WhereGiven {
  /** Job ids as printed by `run --detach`; when empty, the last run submitted from the workspace (--mlcube/--workspace). */
  ids: string[];
}

export interface JobStatus {
  jobId: string;
  task?: string;
  state: string;
  reason?: string;
  exitCode?: number;
  stdout?: string;
  stderr?: string;
}

/** Job ids to act on: given ones, or those of the workspace's last slurm run (<ws>/.mlcube/slurm/last-run.json). */
function jobsToActOn(opts: JobsOptions, app: AppEnv): { jobId: string; task?: string }[] {
  if (opts.ids.length)
    return opts.ids
      .flatMap((s) => s.split(','))
      .filter(Boolean)
      .map((jobId) => ({ jobId }));
  const where = existingWorkspace(opts, app, 'or pass --workspace=<workspace>, or the job ids printed by `mlcube run --platform=slurm --detach`');
  const file = join(where.dir, RECORDS_DIR, 'slurm', 'last-run.json');
  if (!existsSync(file))
    throw new UsageError(`no job ids given and no Slurm run recorded in ${file} (${where.origin})`, {
      suggestions: ['Pass the ids printed by `mlcube run --platform=slurm --detach`, or the --workspace (or --mlcube) a `--platform=slurm` run used.'],
    });
  return (JSON.parse(readFileSync(file, 'utf8')).jobs as { jobId: string; task: string }[]).map((j) => ({ jobId: j.jobId, task: j.task }));
}

/** `status`: what Slurm says about each job (scontrol; no accounting daemon needed). */
export async function jobStatus(opts: JobsOptions, app: AppEnv): Promise<JobStatus[]> {
  const { jobState } = await jobControl('slurm');
  return Promise.all(
    jobsToActOn(opts, app).map(async (j) => {
      const s = await jobState(j.jobId, app.env);
      return s
        ? { jobId: j.jobId, task: j.task, state: s.state, reason: s.reason, exitCode: s.exitCode, stdout: s.stdout, stderr: s.stderr }
        : { jobId: j.jobId, task: j.task, state: 'UNKNOWN', reason: 'Slurm no longer knows this job (older than MinJobAge)' };
    }),
  );
}

/** `cancel`: scancel the jobs. */
export async function cancelRun(opts: JobsOptions, app: AppEnv): Promise<string[]> {
  const { cancelJobs } = await jobControl('slurm');
  const ids = jobsToActOn(opts, app).map((j) => j.jobId);
  await cancelJobs(ids, app.env);
  app.log.info(`cancelled Slurm job(s) ${ids.join(', ')}`);
  return ids;
}

export function renderStatus(rows: JobStatus[]): string {
  return (
    rows.map((r) => `${r.jobId.padEnd(8)} ${(r.task ?? '').padEnd(12)} ${r.state.padEnd(11)} exit=${r.exitCode ?? '-'}${r.reason && r.reason !== 'None' ? ` (${r.reason})` : ''}`).join('\n') + '\n'
  );
}
