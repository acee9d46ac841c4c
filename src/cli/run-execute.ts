import { runTasks } from '../app/run.js';
import type { AppEnv } from '../app/context.js';
import type { SubmittedJob } from '../runner.js';
import { withInterrupt } from './interrupt.js';
import type { RunnerFlags } from '../runner.js';

/** What `mlcube run` was asked for, parsed from its command line (src/cli/commands/run.ts). */
export interface RunCommandLine {
  mlcube?: string;
  platform: string;
  task?: string;
  workspace?: string;
  /** -P KEY.PATH=VALUE overrides, in order. */
  params: string[];
  /** Task-parameter overrides: `name=value` words, then `--name=value` for names that are no flag. */
  taskArgs: string[];
  flags: RunnerFlags;
  json: boolean;
  detach: boolean;
  /** false with --no-wait: fail at once (exit 75) instead of waiting for a run that holds the same outputs. */
  wait: boolean;
}

/** `mlcube run` once its command line is parsed. */
export async function executeRun(line: RunCommandLine, app: AppEnv, out: (text: string) => void): Promise<void> {
  let jobs: SubmittedJob[] = [];
  const results = await withInterrupt((signal) =>
    runTasks(
      {
        mlcube: line.mlcube,
        platform: line.platform,
        tasks: line.task,
        workspace: line.workspace,
        params: line.params,
        taskArgs: line.taskArgs,
        flags: line.flags,
        signal,
        detach: line.detach,
        wait: line.wait,
        onSubmitted: (j) => (jobs = j),
      },
      app,
    ),
  );
  if (line.detach) out(JSON.stringify({ jobs }, null, 2));
  else if (line.json) out(JSON.stringify({ tasks: results, ...(jobs.length ? { jobs } : {}) }, null, 2));
}
