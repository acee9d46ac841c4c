import { expect } from 'chai';
import { mlcube } from './cli.js';

/** Each job's state as `mlcube status --json` reports it. */
export const states = async (ids: string[]) => {
  const s = await mlcube(['status', '--json', ...ids]);
  expect(s.exitCode, s.stderr).to.equal(0);
  return Object.fromEntries((JSON.parse(s.stdout).jobs as { job_id: string; state: string }[]).map((j) => [j.job_id, j.state]));
};

export const waitFor = async (cond: () => boolean | Promise<boolean>, ms = 30_000) => {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 200))) if (await cond()) return;
  throw new Error('timed out waiting');
};

/** The job ids `mlcube run` logged as submitted, in order. */
export const submittedIds = (stderr: string) => [...stderr.matchAll(/submitted Slurm job (\d+)/g)].map((m) => m[1]);
