import { execa, type Result } from 'execa';
import type { TaskIo, TaskUsage } from '../src/runner.js';
import { hostUsageMeter } from '../src/host-usage.js';
import { pipeInto, stdoutStdio, type StdoutRoute } from '../src/task-io.js';

export interface HostProcessOptions {
  cwd: string;
  env: Record<string, string | undefined>;
  signal: AbortSignal;
  /** When set, stdout/stderr go into its streams (stdin stays the terminal) and usage is measured. */
  io?: TaskIo;
  /** Without io: which of our streams the task's stdout goes to (RunContext.stdoutTo). */
  stdoutTo?: StdoutRoute;
  /** Without io: where stderr goes (`inherit`, or also piped to see it through onStderr). */
  stderr?: 'inherit' | ['inherit', 'pipe'];
  onStderr?: (chunk: Buffer) => void;
}

/**
 * A container runtime's client that runs the task as its descendant on this host (singularity, ch-run): its output
 * into the TaskIo streams, measured like a local task, stopped with SIGTERM then SIGKILL 5 s later on abort.
 */
export async function runHostProcess(argv: readonly string[], o: HostProcessOptions): Promise<{ result: Result; pid?: number; usage?: TaskUsage }> {
  const meter = o.io ? hostUsageMeter() : undefined;
  const child = execa(argv[0], argv.slice(1), {
    cwd: o.cwd,
    env: o.env,
    extendEnv: false,
    stdin: 'inherit',
    stdout: o.io ? 'pipe' : stdoutStdio(o.stdoutTo),
    stderr: o.io ? 'pipe' : (o.stderr ?? 'inherit'),
    buffer: false,
    reject: false,
    cancelSignal: o.signal,
    forceKillAfterDelay: 5000,
  });
  meter?.watch(child.pid);
  const drained = o.io && child.stdout && child.stderr ? Promise.all([pipeInto(child.stdout, o.io.stdout), pipeInto(child.stderr, o.io.stderr)]) : undefined;
  if (o.onStderr) child.stderr?.on('data', o.onStderr);
  const result = await child;
  const usage = meter?.stop();
  await drained; // execa settles once the pipes ended; this only makes the order explicit
  return { result, pid: child.pid, ...(usage ? { usage } : {}) };
}
