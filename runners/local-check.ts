import { statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { ConfigError } from '../src/errors.js';
import type { ResolvedTask } from '../src/params/resolve.js';
import { which } from '../src/which.js';

/** Linux's limit on one argument or environment string (MAX_ARG_STRLEN, 32 pages). */
const MAX_ARG_BYTES = 128 * 1024;
/** What argv + environment may take in all here (ARG_MAX is 2 MiB on Linux; the kernel also counts pointers). */
const MAX_ARGV_ENV_BYTES = 2 * 1024 * 1024 - 64 * 1024;

/**
 * What would make the task's process fail to start, found before anything is created (README "Exit codes": 2-4
 * change nothing on disk): a NUL byte or an oversized argument, too large an argv + environment (E2BIG), an
 * executable that is not there or not executable, a working directory that does not exist.
 */
export function checkHostCommand(task: ResolvedTask, argv: readonly string[], env: Record<string, string | undefined>, cwd: string, what: string): void {
  const place = { task: task.name };
  const fail = (detail: string, fix: string) => {
    throw new ConfigError(detail, { place, suggestions: [fix] });
  };
  for (const [i, a] of argv.entries()) {
    if (a.includes('\0'))
      fail(`argument ${i} of the task's command line holds a NUL byte: ${JSON.stringify(a.slice(0, 80))}`, `Remove the NUL (\\0) from ${i === 0 ? what : 'the parameter value or command'}.`);
    if (Buffer.byteLength(a) > MAX_ARG_BYTES)
      fail(
        `argument ${i} of the task's command line is ${Buffer.byteLength(a)} bytes; one argument may be at most ${MAX_ARG_BYTES} (Linux MAX_ARG_STRLEN)`,
        'Pass large values through a file parameter instead of the command line.',
      );
  }
  const envBytes = Object.entries(env).reduce((n, [k, v]) => (v === undefined ? n : n + Buffer.byteLength(k) + Buffer.byteLength(v) + 2), 0);
  const total = argv.reduce((n, a) => n + Buffer.byteLength(a) + 1, 0) + envBytes;
  if (total > MAX_ARGV_ENV_BYTES)
    fail(
      `the task's command line and environment take ${total} bytes; at most ${MAX_ARGV_ENV_BYTES} fit (Linux ARG_MAX)`,
      'Shorten the command line or the environment (env_args), or pass values through files.',
    );
  for (const [k, v] of Object.entries(env))
    if (k.includes('\0') || k.includes('=') || v?.includes('\0'))
      fail(`the environment variable ${JSON.stringify(k.slice(0, 40))} cannot be passed (a NUL byte, or "=" in its name)`, 'Fix the name or value in env_args.');
  if (!statSync(cwd, { throwIfNoEntry: false })?.isDirectory()) fail(`the working directory ${cwd} does not exist`, 'Fix local.workdir (relative to the cube root).');
  const exe = argv[0] ?? '';
  if (Buffer.byteLength(exe) > 255 && !exe.includes('/'))
    fail(`the executable name ${JSON.stringify(exe.slice(0, 60))}... is ${Buffer.byteLength(exe)} bytes, longer than a file name may be (255)`, `Check ${what}: the first word must name a program.`);
  const found = exe.includes('/') ? which(isAbsolute(exe) ? exe : resolve(cwd, exe)) : which(exe, env.PATH ?? '');
  if (!found)
    fail(
      `cannot start "${exe}": ${exe.includes('/') ? `no executable file at ${isAbsolute(exe) ? exe : resolve(cwd, exe)}` : 'not found on PATH'}`,
      `Check ${what}: "${exe}" must be an executable on PATH or a path relative to ${cwd}.`,
    );
}
