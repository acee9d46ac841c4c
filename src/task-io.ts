import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Pipes a child's output into a stream we do not own (never ended here: TaskIo's streams are the recorder's); settles once the output has ended. */
export function pipeInto(from: NodeJS.ReadableStream, to: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    from.pipe(to, { end: false });
    from.once('end', resolve);
    from.once('close', resolve);
    from.once('error', () => resolve());
  });
}

/**
 * Which of mlcube's own streams shows a task's stdout: mlcube's stdout, or its stderr when stdout carries a JSON
 * document (`run --json`: scripts parse stdout as a whole).
 */
export type StdoutRoute = 'stdout' | 'stderr';

/** The stream for the task's stdout where mlcube copies it (a tee, a container's attach stream, a job's log file). */
export function stdoutStream(route: StdoutRoute | undefined): NodeJS.WritableStream {
  return route === 'stderr' ? process.stderr : process.stdout;
}

/** The same where the task's process writes it itself: its stdout's entry in the child's stdio (fd 2 is our stderr). */
export function stdoutStdio(route: StdoutRoute | undefined): 'inherit' | 2 {
  return route === 'stderr' ? 2 : 'inherit';
}

/** A task run's private metrics directory: `<tmp>/mlcube-metrics-XXXXXX` (the reaper removes only names of this form). */
export function newMetricsDir(): string {
  return mkdtempSync(join(tmpdir(), 'mlcube-metrics-'));
}
