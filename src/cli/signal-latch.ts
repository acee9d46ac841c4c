/**
 * Ctrl-C / SIGTERM / SIGHUP caught from the first line of the launcher, for `mlcube run`: a signal that arrives
 * while the CLI loads or the configuration is built is held here and handed to withInterrupt (src/cli/interrupt.ts)
 * once the run has its AbortController, instead of being lost (a run that then started its task anyway) or killing
 * mlcube half-way. The launcher and the CLI bundles are separate bundles, so the latch lives on globalThis.
 */
export const INTERRUPT_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export interface SignalLatch {
  /** The first signal received while nobody listened. */
  received?: NodeJS.Signals;
  /** Set by withInterrupt while a run is in progress: signals go straight to it. */
  listener?: (sig: NodeJS.Signals) => void;
  /** A run adopted the latch (it decides the exit code). */
  adopted: boolean;
  /** Removes the process listeners: signals get their default action again (the run is over). */
  release(): void;
}

const KEY = Symbol.for('mlcube.signal-latch');

export function signalLatch(): SignalLatch | undefined {
  return (globalThis as Record<symbol, SignalLatch | undefined>)[KEY];
}

/** Installs the latch (once per process). */
export function installSignalLatch(): SignalLatch {
  const known = signalLatch();
  if (known) return known;
  const onSignal = (sig: NodeJS.Signals) => {
    if (latch.listener) latch.listener(sig);
    else latch.received ??= sig;
  };
  const latch: SignalLatch = {
    adopted: false,
    release() {
      for (const s of INTERRUPT_SIGNALS) process.off(s, onSignal);
    },
  };
  for (const s of INTERRUPT_SIGNALS) process.on(s, onSignal);
  // A signal no run adopted (the command line went to oclif's help or a usage error): still not a success.
  process.once('exit', (code) => {
    if (latch.received && !latch.adopted && !code) process.exitCode = 130;
  });
  (globalThis as Record<symbol, SignalLatch | undefined>)[KEY] = latch;
  return latch;
}
