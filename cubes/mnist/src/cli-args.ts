import { resolve } from 'node:path';
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

/**
 * The parameters `--<prefix><name>=<path>` in the order given (e.g. model_shallow, model_lenet5): the names are
 * what the robustness matrix calls the models. At least `min` of them; names of lowercase letters and digits.
 */
export function named(args: TaskArgs, prefix: string, min = 1): { name: string; path: string }[] {
  const found = Object.entries(args.params)
    .filter(([k]) => k.startsWith(prefix))
    .map(([k, path]) => ({ name: k.slice(prefix.length), path }));
  const bad = found.find((f) => !/^[a-z][a-z0-9]*$/.test(f.name));
  if (bad) {
    throw new CubeError({
      place: `task ${args.task}: parameter --${prefix}${bad.name}`,
      problem: 'bad model name',
      found: JSON.stringify(bad.name),
      expected: `${prefix}<name> with a name of lowercase letters and digits (e.g. ${prefix}lenet5)`,
      fix: 'rename the parameter in the cube file',
    });
  }
  if (found.length < min) {
    throw new CubeError({
      place: `task ${args.task}`,
      problem: `needs ${min === 1 ? 'a parameter' : `${min} parameters`} --${prefix}<name>`,
      found: `${found.length}`,
      expected: `--${prefix}<name>=<path>`,
      fix: 'declare them as inputs of the task in the cube file (robustness.yaml)',
    });
  }
  return found.map((f) => ({ name: f.name, path: resolve(f.path) }));
}
