import { runTasks, type TaskRun } from '../app/run.js';
import type { AppEnv } from '../app/context.js';
import type { SubmittedJob } from '../runner.js';
import { withInterrupt } from './interrupt.js';
import { failureDocument, jsonText, runDocument, submittedJobJson, sweepDocument } from './json-output.js';
import type { RunCommandLine } from './run-argv.js';
import { dryRun, renderDryRun } from '../app/dry-run.js';
import { labelsOf, runSweep, type SweepRun } from '../app/sweep.js';
import type { RunOptions } from '../app/run.js';
import { UsageError } from '../errors.js';

/**
 * `mlcube run` once its command line is parsed (by oclif or without it: src/cli/run-argv.ts). With --json, stdout
 * carries one document, also when the run fails: the tasks' own stdout goes to stderr.
 */
export async function executeRun(line: RunCommandLine, app: AppEnv, out: (text: string) => void): Promise<void> {
  const asked = {
    mlcube: line.mlcube,
    platform: line.platform,
    tasks: line.task,
    workspace: line.workspace,
    params: line.params,
    taskArgs: line.taskArgs,
    flags: line.flags,
    jobs: line.jobs,
    policy: line.policy,
    timeout: line.timeout,
    noCache: line.noCache,
  };
  const labels = labelsOf(line.experiment, line.tags);
  const sweeping = line.sweeps.length > 0 || line.sweepFile !== undefined;
  if (sweeping && line.dryRun) {
    const e = new UsageError('--sweep with --dry-run: the dry run shows one run', {
      suggestions: ['Dry-run one point by giving its values with -P (or name=value) instead of --sweep; drop --dry-run to run the sweep.'],
    });
    if (line.json) out(jsonText(failureDocument(e)));
    throw e;
  }
  if (line.dryRun) {
    let plan;
    try {
      plan = await dryRun(asked, app);
    } catch (e) {
      if (line.json) out(jsonText(failureDocument(e)));
      throw e;
    }
    return out(line.json ? jsonText(plan) : renderDryRun(plan));
  }
  if (sweeping) return sweepRun(line, { ...asked, ...(labels ? { labels } : {}) }, app, out);
  let jobs: SubmittedJob[] = [];
  let ran: TaskRun[] = [];
  const summary = (tasks: TaskRun[]) => runDocument(tasks, jobs);
  let results: TaskRun[];
  try {
    results = await withInterrupt((signal) =>
      runTasks(
        {
          ...asked,
          signal,
          ...(labels ? { labels } : {}),
          detach: line.detach,
          wait: line.wait,
          stdoutTo: line.json ? 'stderr' : 'stdout',
          onSubmitted: (j) => (jobs = j),
          onFailure: (r) => (ran = r),
        },
        app,
      ),
    );
  } catch (e) {
    if (line.json) out(jsonText(failureDocument(e, summary(ran))));
    throw e;
  }
  if (line.detach) out(jsonText({ jobs: jobs.map(submittedJobJson) }));
  else if (line.json) out(jsonText(summary(results)));
}

/** `mlcube run --sweep ...`: with --json, one document of the sweep (its id, the shared tasks, each point), also when it fails. */
async function sweepRun(line: RunCommandLine, asked: Omit<RunOptions, 'signal'>, app: AppEnv, out: (text: string) => void): Promise<void> {
  let done: SweepRun | undefined;
  try {
    done = await withInterrupt((signal) =>
      runSweep({ ...asked, signal, detach: line.detach, wait: line.wait, stdoutTo: line.json ? 'stderr' : 'stdout' }, { sweeps: line.sweeps, sweepFile: line.sweepFile }, app, (r) => (done = r)),
    );
  } catch (e) {
    if (line.json) out(jsonText(failureDocument(e, done ? sweepDocument(done) : {})));
    throw e;
  }
  if (line.json) out(jsonText(sweepDocument(done)));
}
