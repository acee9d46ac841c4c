import { parseArgs } from 'node:util';
import type { RunnerFlags } from '../runner.js';

/** What `mlcube run` was asked for, parsed from its command line (by oclif, or by parseRunArgv). */
export interface RunCommandLine {
  mlcube?: string;
  platform: string;
  task?: string;
  workspace?: string;
  /** -P KEY.PATH=VALUE overrides, in order. */
  params: string[];
  /** Task-parameter overrides: `name=value` words, then `--name=value` for names that are no flag. */
  taskArgs: string[];
  flags: RunnerFlags;
  json: boolean;
  detach: boolean;
  /** false with --no-wait: fail at once (exit 75) instead of waiting for a run that holds the same outputs. */
  wait: boolean;
  /** --jobs N: at most N tasks at once on an attached runner (checked by the run: a positive integer). */
  jobs?: string;
  /** --dry-run: print the plan, run nothing, change nothing. */
  dryRun: boolean;
  /** --policy FILE: a run policy besides the cube's and the platform's. */
  policy?: string;
  /** --timeout DURATION: each task's limit (checked by the plan). */
  timeout?: string;
  /** --no-cache: every task runs (README "Task cache"). */
  noCache: boolean;
  /** --sweep KEY=V1,V2,... (repeatable): a sweep (README "Sweeps and experiments"). */
  sweeps: string[];
  /** --sweep-file FILE: a sweep's grid or points. */
  sweepFile?: string;
  /** --experiment NAME: recorded with every task run. */
  experiment?: string;
  /** --tag KEY=VALUE (repeatable): recorded with every task run. */
  tags: string[];
}

/**
 * The flags of `mlcube run` as data, for the parser without oclif. The oclif definitions (src/cli/commands/run.ts,
 * src/cli/base-command.ts) carry the help texts; a unit test checks that both describe the same flags.
 */
export const RUN_FLAGS = {
  strings: ['mlcube', 'platform', 'workspace', 'task', 'network', 'security', 'gpus', 'memory', 'cpu', 'mount', 'jobs', 'policy', 'timeout', 'sweep-file', 'experiment'],
  booleans: ['json', 'detach', 'no-wait', 'dry-run', 'no-cache'],
  /** Repeatable string flags, in the order given. */
  multiples: ['sweep', 'tag'],
  /** -P (also -p), repeatable: configuration overrides. */
  params: 'P',
  defaults: { platform: 'docker' },
  options: { mount: ['ro', 'rw'] },
} as const;

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

/**
 * Splits argv into what the flag parser gets and task-parameter overrides: `--name=value` whose name is no flag
 * of the command is a task override (the Python MLCube silently ignores that form, medperf#489).
 */
export function splitTaskOverrides(args: readonly string[], flagNames: readonly string[]): { argv: string[]; overrides: string[] } {
  const argv: string[] = [];
  const overrides: string[] = [];
  for (const a of args) {
    const m = /^--([^=]+)=/.exec(a);
    if (m && !flagNames.includes(m[1])) overrides.push(a);
    else argv.push(a);
  }
  return { argv, overrides };
}

const P_ALIAS = 'P-lowercase';

/** util.parseArgs's tokens, as used here. */
type ArgToken = { kind: 'positional'; value: string } | { kind: 'option-terminator' } | { kind: 'option'; name: string; rawName: string; value: string | undefined };

/**
 * `mlcube run`'s arguments parsed without loading oclif, which costs `mlcube run` 20-35 ms, the largest part of
 * its start-up. Only the plain forms are taken: the documented flags once each, `-P`/`-p` overrides, task
 * overrides. Anything else (help, an unknown or repeated flag, a missing or invalid value, `--`) gives undefined
 * and is left to oclif, so usage errors and help always come from oclif. A unit test holds both to the same results.
 */
export function parseRunArgv(args: readonly string[]): RunCommandLine | undefined {
  const { argv, overrides } = splitTaskOverrides(args, [...RUN_FLAGS.strings, ...RUN_FLAGS.booleans, ...RUN_FLAGS.multiples, RUN_FLAGS.params]);
  let tokens: ArgToken[];
  try {
    tokens = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      tokens: true,
      options: {
        ...Object.fromEntries(RUN_FLAGS.strings.map((f) => [f, { type: 'string' as const }])),
        ...Object.fromEntries(RUN_FLAGS.booleans.map((f) => [f, { type: 'boolean' as const }])),
        ...Object.fromEntries(RUN_FLAGS.multiples.map((f) => [f, { type: 'string' as const, multiple: true }])),
        [RUN_FLAGS.params]: { type: 'string', short: 'P', multiple: true },
        [P_ALIAS]: { type: 'string', short: 'p', multiple: true },
      },
    }).tokens as ArgToken[];
  } catch {
    return undefined;
  }
  const values = new Map<string, string | boolean>();
  const params: string[] = [];
  const multiples = new Map<string, string[]>(RUN_FLAGS.multiples.map((f) => [f, []]));
  const positionals: string[] = [];
  for (const t of tokens) {
    if (t.kind === 'positional') positionals.push(t.value);
    else if (t.kind === 'option-terminator') return undefined;
    else if (t.name === RUN_FLAGS.params || t.name === P_ALIAS) {
      if (t.name === P_ALIAS && t.rawName !== '-p') return undefined; // only the short alias exists
      params.push(t.value!);
    } else if (multiples.has(t.name)) {
      multiples.get(t.name)!.push(t.value!);
    } else {
      if (values.has(t.name)) return undefined;
      values.set(t.name, t.value ?? true);
    }
  }
  const str = (name: string) => values.get(name) as string | undefined;
  const mount = str('mount');
  if (mount !== undefined && !(RUN_FLAGS.options.mount as readonly string[]).includes(mount)) return undefined;
  return {
    mlcube: str('mlcube'),
    platform: str('platform') ?? RUN_FLAGS.defaults.platform,
    task: str('task'),
    workspace: str('workspace'),
    params,
    taskArgs: [...positionals, ...overrides],
    flags: { network: str('network'), security: str('security'), gpus: str('gpus'), memory: str('memory'), cpu: str('cpu'), mount },
    json: values.get('json') === true,
    detach: values.get('detach') === true,
    wait: values.get('no-wait') !== true,
    ...(str('jobs') !== undefined ? { jobs: str('jobs') } : {}),
    dryRun: values.get('dry-run') === true,
    noCache: values.get('no-cache') === true,
    ...(str('policy') !== undefined ? { policy: str('policy') } : {}),
    ...(str('timeout') !== undefined ? { timeout: str('timeout') } : {}),
    sweeps: multiples.get('sweep')!,
    ...(str('sweep-file') !== undefined ? { sweepFile: str('sweep-file') } : {}),
    ...(str('experiment') !== undefined ? { experiment: str('experiment') } : {}),
    tags: multiples.get('tag')!,
  };
}
