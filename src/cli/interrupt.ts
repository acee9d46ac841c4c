import { InterruptedError, isMlcubeError } from '../errors.js';
import { INTERRUPT_SIGNALS, signalLatch } from './signal-latch.js';

/**
 * Runs `work` with an AbortSignal fired by Ctrl-C / SIGTERM / SIGHUP; an interrupted run exits 130. A signal the
 * launcher's latch held from before (src/cli/signal-latch.ts) aborts at once: the run then starts nothing.
 */
export async function withInterrupt<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) return;
    process.stderr.write(`\nmlcube: ${sig} received, stopping the run...\n`);
    controller.abort(sig);
  };
  const latch = signalLatch();
  if (latch) {
    latch.adopted = true;
    latch.listener = onSignal;
    if (latch.received) onSignal(latch.received);
  } else {
    for (const s of INTERRUPT_SIGNALS) process.on(s, onSignal);
  }
  try {
    return await work(controller.signal);
  } catch (e) {
    if (controller.signal.aborted && !(isMlcubeError(e) && e instanceof InterruptedError)) {
      throw new InterruptedError(`interrupted by ${String(controller.signal.reason)}`, { cause: e });
    }
    throw e;
  } finally {
    if (latch) {
      latch.listener = undefined;
      latch.release();
    } else {
      for (const s of INTERRUPT_SIGNALS) process.off(s, onSignal);
    }
  }
}
