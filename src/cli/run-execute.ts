import { runTasks } from '../app/run.js';
import type { AppEnv } from '../app/context.js';
import type { SubmittedJob } from '../runner.js';
import { withInterrupt } from './interrupt.js';
import type { RunCommandLine } from './run-argv.js';

/** `mlcube run` once its command line is parsed (by oclif or without it: src/cli/run-argv.ts). */
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
