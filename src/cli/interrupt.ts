import { InterruptedError, isMlcubeError } from '../errors.js';

/** Runs `work` with an AbortSignal fired by Ctrl-C / SIGTERM; an interrupted run exits 130. */
export async function withInterrupt<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) return;
    process.stderr.write(`\nmlcube: ${sig} received, stopping the task...\n`);
    controller.abort(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await work(controller.signal);
  } catch (e) {
    if (controller.signal.aborted && !(isMlcubeError(e) && e instanceof InterruptedError)) {
      throw new InterruptedError(`interrupted by ${String(controller.signal.reason)}`, { cause: e });
    }
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
