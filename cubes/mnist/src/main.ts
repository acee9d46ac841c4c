import { resolve } from 'node:path';
import { named, need, parseArgs, type TaskArgs } from './cli-args.js';
import { runAttack } from './attack/task.js';
import { runDownload } from './download/task.js';
import { CubeError } from './errors.js';
import { runEvaluate } from './evaluate/task.js';
import { runExport } from './export/task.js';
import { runInfer } from './infer/task.js';
import { Logger } from './log.js';
import { runReport } from './report/task.js';
import { runTrain } from './train/task.js';

/** The cube's programs; a task runs the one of its name, or of its name's part before the first `_` (train_lenet: train). */
const TASKS: Record<string, (a: TaskArgs, log: Logger) => Promise<unknown>> = {
  download: (a, log) => runDownload({ dataConfig: resolve(need(a, 'data_config')), dataDir: resolve(need(a, 'data_dir')) }, log),
  train: (a, log) =>
    runTrain(
      {
        dataDir: resolve(need(a, 'data_dir')),
        trainConfig: resolve(need(a, 'train_config')),
        modelDir: resolve(need(a, 'model_dir')),
        logDir: a.params.log_dir ? resolve(a.params.log_dir) : undefined,
        task: a.task,
      },
      log,
    ),
  evaluate: (a, log) =>
    runEvaluate(
      {
        dataDir: resolve(need(a, 'data_dir')),
        modelDir: resolve(need(a, 'model_dir')),
        metricsDir: resolve(need(a, 'metrics_dir')),
        evalConfig: a.params.eval_config ? resolve(a.params.eval_config) : undefined,
      },
      log,
    ),
  export: (a, log) => runExport({ dataDir: resolve(need(a, 'data_dir')), modelDir: resolve(need(a, 'model_dir')), exportDir: resolve(need(a, 'export_dir')) }, log),
  attack: (a, log) =>
    runAttack({ dataDir: resolve(need(a, 'data_dir')), attackConfig: resolve(need(a, 'attack_config')), models: named(a, 'model_'), adversarialDir: resolve(need(a, 'adversarial_dir')) }, log),
  infer: (a, log) => {
    const [model, ...more] = named(a, 'model_');
    if (more.length)
      throw new CubeError({
        place: `task ${a.task}`,
        problem: 'more than one target model',
        found: [model, ...more].map((m) => `--model_${m.name}`).join(' '),
        expected: 'one --model_<name>',
        fix: 'give each target model an inference task of its own',
      });
    return runInfer({ dataDir: resolve(need(a, 'data_dir')), adversarialDir: resolve(need(a, 'adversarial_dir')), model, scoresDir: resolve(need(a, 'scores_dir')) }, log);
  },
  report: (a, log) => runReport({ scores: named(a, 'scores_'), reportDir: resolve(need(a, 'report_dir')) }, log),
};

function program(task: string) {
  const name = Object.hasOwn(TASKS, task) ? task : task.split('_')[0];
  return Object.hasOwn(TASKS, name) ? TASKS[name] : undefined;
}

/** Entry point of the cube: `node dist/main.js <task> --param=<path> ...`; exit 0 on success, 1 with one stderr line otherwise. */
async function main(argv: string[]): Promise<number> {
  let log = new Logger('mnist');
  try {
    const args = parseArgs(argv);
    log = new Logger(args.task);
    const run = program(args.task);
    if (!run) {
      throw new CubeError({
        place: 'command line',
        problem: 'unknown task',
        found: args.task,
        expected: Object.keys(TASKS).join(', '),
        fix: 'use a task defined in mlcube.yaml or robustness.yaml (<program> or <program>_<anything>)',
      });
    }
    if (args.params.log_dir) log.toDirectory(resolve(args.params.log_dir));
    const started = Date.now();
    await run(args, log);
    log.info(`${args.task} finished in ${((Date.now() - started) / 1000).toFixed(1)}s`);
    return 0;
  } catch (err) {
    const msg = err instanceof CubeError ? err.message : `unexpected error: ${(err as Error).stack ?? String(err)}`;
    log.error(err instanceof CubeError ? msg : msg.split('\n')[0]);
    if (!(err instanceof CubeError) && process.env.DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
