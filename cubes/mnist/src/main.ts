import { resolve } from 'node:path';
import { need, parseArgs, type TaskArgs } from './cli-args.js';
import { runDownload } from './download/task.js';
import { CubeError } from './errors.js';
import { runEvaluate } from './evaluate/task.js';
import { runExport } from './export/task.js';
import { Logger } from './log.js';
import { runTrain } from './train/task.js';

const TASKS: Record<string, (a: TaskArgs, log: Logger) => Promise<unknown>> = {
  download: (a, log) => runDownload({ dataConfig: resolve(need(a, 'data_config')), dataDir: resolve(need(a, 'data_dir')) }, log),
  train: (a, log) =>
    runTrain(
      {
        dataDir: resolve(need(a, 'data_dir')),
        trainConfig: resolve(need(a, 'train_config')),
        modelDir: resolve(need(a, 'model_dir')),
        logDir: a.params.log_dir ? resolve(a.params.log_dir) : undefined,
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
};

/** Entry point of the cube: `node dist/main.js <task> --param=<path> ...`; exit 0 on success, 1 with one stderr line otherwise. */
async function main(argv: string[]): Promise<number> {
  let log = new Logger('mnist');
  try {
    const args = parseArgs(argv);
    log = new Logger(args.task);
    const run = TASKS[args.task];
    if (!run) {
      throw new CubeError({ place: 'command line', problem: 'unknown task', found: args.task, expected: Object.keys(TASKS).join(', '), fix: 'use a task defined in mlcube.yaml' });
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
