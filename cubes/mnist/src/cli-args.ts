import { CubeError } from './errors.js';

/** Task name and `--name=value` parameters, as the runtime passes them: `<task> --p=<path> ...`. */
export interface TaskArgs {
  task: string;
  params: Record<string, string>;
}

export function parseArgs(argv: readonly string[]): TaskArgs {
  const [task, ...rest] = argv;
  if (!task || task.startsWith('-')) {
    throw new CubeError({
      place: 'command line',
      problem: 'no task given',
      found: argv.join(' ') || 'nothing',
      expected: '<task> --param=value ...',
      fix: 'run e.g. `node dist/main.js download --data_config=data.yaml --data_dir=data --log_dir=logs`',
    });
  }
  const params: Record<string, string> = {};
  for (const arg of rest) {
    const m = /^--([A-Za-z_][\w-]*)=(.*)$/s.exec(arg);
    if (!m) {
      throw new CubeError({ place: 'command line', problem: 'unreadable argument', found: arg, expected: '--name=value', fix: 'pass parameters as --name=value' });
    }
    params[m[1]] = m[2];
  }
  return { task, params };
}

/** Returns the required parameter or throws naming the task, the parameter and the known ones. */
export function need(args: TaskArgs, name: string): string {
  const v = args.params[name];
  if (v === undefined || v === '') {
    throw new CubeError({
      place: `task ${args.task}`,
      problem: `missing parameter --${name}`,
      found:
        Object.keys(args.params)
          .map((k) => `--${k}`)
          .join(' ') || 'no parameters',
      expected: `--${name}=<path>`,
      fix: 'check the task parameters in mlcube.yaml',
    });
  }
  return v;
}
