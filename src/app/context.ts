import { homedir } from 'node:os';
import type { Logger } from '../log.js';

/** The outside world a use case needs; the CLI passes the real one, tests pass their own. */
export interface AppEnv {
  cwd: string;
  env: Record<string, string | undefined>;
  home: string;
  log: Logger;
}

export function realAppEnv(log: Logger): AppEnv {
  return { cwd: process.cwd(), env: process.env, home: homedir(), log };
}
