/**
 * Python MLCube takes --log-level before the sub-command; it is accepted anywhere, taken out of the arguments and
 * handed over by env (MLCUBE_LOG_LEVEL) to the logger.
 */
export function takeLogLevel(args: readonly string[]): string[] {
  const argv = [...args];
  for (let i = 0; i < argv.length; i++) {
    const m = /^--log[-_]level(?:=(.*))?$/.exec(argv[i]);
    if (!m) continue;
    process.env.MLCUBE_LOG_LEVEL = m[1] ?? argv[i + 1];
    argv.splice(i, m[1] === undefined ? 2 : 1);
    i--;
  }
  return argv;
}
