/** With --log-level=debug: where the start-up time goes (ms since the process started). */
export function since(what: string): void {
  if (process.env.MLCUBE_LOG_LEVEL === 'debug') process.stderr.write(`mlcube debug: ${what} at ${performance.now().toFixed(0)} ms\n`);
}
