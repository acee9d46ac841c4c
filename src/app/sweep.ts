import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Tree } from '../config/tree.js';
import { isMlcubeError, UsageError, ConfigError, TaskFailedError } from '../errors.js';
import { RUN_LABELS_ENV, type RunLabels } from '../provenance/labels.js';
import {
  affectedTasks,
  checkExperiment,
  derivedFile,
  expandSweep,
  overrideKey,
  parseSweepKey,
  parseTags,
  rerootOverrides,
  splitTaskArgs,
  sweepFlagFactor,
  sweepId,
  sweepKeys,
  taskArgsAsParams,
  scopedTaskArgs,
  type SweepKeySpec,
  type SweepValue,
} from '../plan/sweep.js';
import { readSweepFile } from '../plan/sweep-file.js';
import type { AppEnv } from './context.js';
import { jobsLimit, planFor, runConfig, runTasks, type RunOptions, type TaskRun } from './run.js';
import { taskSlots } from './run-attached.js';

/** What `mlcube run` was asked besides the run: the sweep, the experiment, the tags (README "Sweeps and experiments"). */
export interface SweepRequest {
  /** --sweep KEY=V1,V2,... (repeatable). */
  sweeps: string[];
  /** --sweep-file FILE. */
  sweepFile?: string;
}

/** One point as planned: its values and what its run is given on top of the command line's (or instead of its task overrides). */
export interface PlannedPoint {
  index: number;
  values: Record<string, SweepValue['value']>;
  /** The run's -P overrides: the command line's, then the point's own (`own`). */
  params: string[];
  own: string[];
  taskArgs: string[];
  /** The task overrides for a run of every selected task (the point's check before anything runs). */
  wholeTaskArgs: string[];
  /** Derived copies of swept files: absolute path and text. */
  files: { path: string; text: string }[];
}

export interface SweepPlan {
  id: string;
  /** `<workspace>/sweeps/<id>`. */
  dir: string;
  workspace: string;
  keys: string[];
  /** Selected tasks no point changes: run once, first, as an ordinary run (with these task overrides: those naming their parameters). */
  shared: string[];
  sharedTaskArgs: string[];
  /** The tasks each point runs (graph order). */
  tasks: string[];
  points: PlannedPoint[];
  /** The runner is a batch runner: the points are one array job. */
  batch: boolean;
  /** How long a point may run on a batch runner (the sum of its tasks' timeouts); null: no limit. */
  timeoutMs: number | null;
}

export const SWEEPS_DIR = 'sweeps';
export const SWEEP_FILE = 'sweep.json';

const plain = (v: Record<string, SweepValue>) => Object.fromEntries(Object.entries(v).map(([k, x]) => [k, x.value]));

/**
 * A sweep of `opts`'s run, planned: the points (the product of the --sweep flags and the sweep file), each point's
 * -P overrides (swept keys, derived copies of swept files, its own outputs), the tasks they share. Reads the disk,
 * writes nothing: every error (exit 2) comes before anything exists.
 */
export function planSweep(opts: Omit<RunOptions, 'signal'>, req: SweepRequest, app: AppEnv): SweepPlan {
  const factors = [...req.sweeps.map(sweepFlagFactor), ...(req.sweepFile !== undefined ? readSweepFile(resolve(app.cwd, req.sweepFile)) : [])];
  const points = expandSweep(factors);
  const specs = sweepKeys(factors);
  const base = planFor(opts, app);
  const { workspace, graph } = base.plan;
  const baseCfg = base.plan.config;
  const ctx = { workspace, env: app.env, home: app.home };
  const id = sweepId(opts.labels?.experiment ?? undefined, new Date(), randomBytes(3).toString('hex'));
  const prefix = (i: number) => `${SWEEPS_DIR}/${id}/${i}`;

  // Each FILE key: the selected tasks' input parameters that name that file, and the file's text.
  const files = new Map<string, { rel: string; text: string; params: { task: string; name: string }[] }>();
  for (const spec of specs) {
    const t = parseSweepKey(spec);
    if (t.kind === 'config') {
      checkConfigKey(opts, spec, points[0].values[spec.key].text, app);
      continue;
    }
    const abs = resolve(workspace, t.file);
    const rel = relative(workspace, abs).split(sep).join('/');
    if (files.has(rel)) continue;
    const params = base.plan.tasks.flatMap((task) => task.params.filter((p) => p.io === 'input' && p.hostPath === abs).map((p) => ({ task: task.name, name: p.name })));
    if (!params.length) {
      // The files the user gives the tasks: inputs no selected task writes.
      const written = new Set(base.plan.tasks.flatMap((task) => task.params.filter((p) => p.io === 'output').map((p) => p.hostPath)));
      const inputs = [
        ...new Set(base.plan.tasks.flatMap((task) => task.params.filter((p) => p.io === 'input' && p.type === 'file' && !written.has(p.hostPath)).map((p) => relative(workspace, p.hostPath)))),
      ];
      throw new UsageError(`${spec.from}: ${abs} is not an input of the selected task(s) ${graph.order.join(', ')}`, {
        place: spec.place,
        suggestions: [`Sweep a key of one of their input files (${inputs.join(', ') || 'none'}), e.g. ${inputs[0] ?? 'train.yaml'}:${t.path.join('.')}; or select the task that reads it with --task.`],
      });
    }
    let text: string;
    try {
      text = readFileSync(abs, 'utf8');
    } catch (e) {
      throw new ConfigError(`${spec.from}: cannot read ${abs}: ${(e as Error).message}`, { place: { file: abs }, suggestions: ['Make the file readable, or sweep a -P key instead.'] });
    }
    files.set(rel, { rel, text, params });
  }

  // Per point: the swept -P keys, the derived files and the inputs pointed at them.
  const drafts = points.map((p) => {
    const own: string[] = [];
    const derived: { path: string; text: string }[] = [];
    for (const spec of specs) {
      const t = parseSweepKey(spec);
      if (t.kind === 'config' && p.values[spec.key]) own.push(`${spec.key}=${p.values[spec.key].text}`);
    }
    for (const [rel, f] of files) {
      const sets = specs
        .map((spec) => ({ spec, t: parseSweepKey(spec) }))
        .filter(({ spec, t }) => t.kind === 'file' && relative(workspace, resolve(workspace, t.file)).split(sep).join('/') === rel && p.values[spec.key])
        .map(({ spec, t }) => ({ spec, path: (t as { path: string[] }).path, value: p.values[spec.key].value }));
      const file = join(workspace, ...prefix(p.index).split('/'), ...rel.split('/'));
      derived.push({ path: file, text: derivedFile(f.text, join(workspace, rel), sets) });
      for (const q of f.params) own.push(`tasks.${q.task}.parameters.inputs.${q.name}.default=${prefix(p.index)}/${rel}`);
    }
    return { point: p, own, derived };
  });

  // Task overrides naming a parameter a point sets would win over its -P overrides: made -P overrides before them.
  const asParams = (names: Set<string>) => {
    const split = splitTaskArgs(opts.taskArgs ?? [], names);
    return { kept: split.kept, params: taskArgsAsParams(baseCfg.tasks as Tree, split.taken) };
  };
  // A converted task override that a point's own -P override replaces says nothing.
  const unless = (params: string[], own: readonly string[]) => params.filter((o) => !own.some((x) => overrideKey(x) === overrideKey(o)));
  const paramName = (o: string) => /^tasks\.[^.]+\.parameters\.(?:inputs|outputs)\.([^.]+)\.default$/.exec(overrideKey(o))?.[1];
  const names = (os: readonly string[]) => new Set(os.map(paramName).filter((n): n is string => n !== undefined));
  const configOf = (own: string[]) => {
    const a = asParams(names(own));
    return runConfig({ ...opts, params: [...(opts.params ?? []), ...unless(a.params, own), ...own], taskArgs: a.kept }, app).config;
  };
  const cfgs = drafts.map((d) => configOf(d.own));
  const tasks = affectedTasks(baseCfg, cfgs, graph);
  if (!tasks.length) {
    const s = specs[0];
    throw new UsageError(`${s.from}: the sweep changes none of the selected tasks (${graph.order.join(', ')}): every point would be the same run`, {
      place: s.place,
      suggestions: ["Sweep a key that the tasks read (e.g. train.yaml:learning_rate, or -P key under tasks.<task>), with values that differ from the cube's."],
    });
  }
  const planned = drafts.map((d, i) => {
    const own = [...d.own, ...rerootOverrides(cfgs[i], tasks, ctx, prefix(d.point.index), base.input.placeOf)];
    const a = asParams(names(own));
    a.params = unless(a.params, own);
    const taskArgs = scopedTaskArgs(a.kept, baseCfg.tasks as Tree, tasks);
    return {
      index: d.point.index,
      values: plain(d.point.values),
      params: [...(opts.params ?? []), ...a.params, ...own],
      own: [...a.params, ...own],
      taskArgs,
      wholeTaskArgs: a.kept,
      files: d.derived,
    };
  });
  const shared = graph.order.filter((t) => !tasks.includes(t));
  return {
    id,
    dir: join(workspace, SWEEPS_DIR, id),
    workspace,
    keys: specs.map((s) => s.key),
    shared,
    sharedTaskArgs: scopedTaskArgs(opts.taskArgs ?? [], baseCfg.tasks as Tree, shared),
    tasks,
    points: planned,
    batch: base.plan.runner.capabilities.batch,
    timeoutMs: base.plan.tasks.filter((t) => tasks.includes(t.name)).reduce<number | null>((sum, t) => (sum === null || t.timeoutMs === null ? null : sum + t.timeoutMs), 0),
  };
}

/** A -P sweep key the configuration has no place for: the config layer's error, said of the sweep key. */
function checkConfigKey(opts: Omit<RunOptions, 'signal'>, spec: SweepKeySpec, text: string, app: AppEnv): void {
  try {
    runConfig({ ...opts, params: [...(opts.params ?? []), `${spec.key}=${text}`] }, app);
  } catch (e) {
    if (!isMlcubeError(e)) throw e;
    throw new UsageError(`${spec.from}: ${e.detail.replace(/^-P \S+: /, '')}`, { place: Object.keys(spec.place).length ? spec.place : e.place, suggestions: e.suggestions });
  }
}

/**
 * `<workspace>/sweeps/<id>/`: sweep.json (the points, their values and -P overrides) and each point's derived files,
 * before any point starts. Returns what removes it all again (a point that does not plan leaves nothing).
 */
export function writeSweep(plan: SweepPlan, labels: RunLabels): () => void {
  const top = join(plan.workspace, SWEEPS_DIR);
  const madeTop = !existsSync(top);
  mkdirSync(plan.dir, { recursive: true });
  for (const p of plan.points) {
    for (const f of p.files) {
      mkdirSync(dirname(f.path), { recursive: true });
      writeFileSync(f.path, f.text);
    }
  }
  const doc = {
    id: plan.id,
    experiment: labels.experiment,
    tags: labels.tags,
    created_at: new Date().toISOString(),
    keys: plan.keys,
    shared_tasks: plan.shared,
    tasks: plan.tasks,
    points: plan.points.map((p) => ({ point: p.index, dir: `${SWEEPS_DIR}/${plan.id}/${p.index}`, values: p.values, params: p.own, task_args: p.taskArgs })),
  };
  writeFileSync(join(plan.dir, SWEEP_FILE), JSON.stringify(doc, null, 2) + '\n');
  return () => rmSync(madeTop ? top : plan.dir, { recursive: true, force: true });
}

/** How one point of a sweep ended. */
export interface PointRun {
  index: number;
  values: Record<string, SweepValue['value']>;
  status: 'succeeded' | 'failed';
  exitCode: number;
  tasks: TaskRun[];
}

export interface SweepRun {
  id: string;
  dir: string;
  /** The shared tasks' runs (run once, first). */
  shared: TaskRun[];
  points: PointRun[];
}

/** The labels of the sweep's runs: the command line's, with the point. */
const pointLabels = (labels: RunLabels, id: string, point: number | null, values: PlannedPoint['values']): RunLabels => ({ ...labels, sweep: { id, point, values } });

/**
 * `mlcube run --sweep ...` (README "Sweeps and experiments"): the sweep planned and written (sweep.json), every point
 * planned (a point that does not plan removes it all: exit 2, nothing written), the shared tasks run once, then the
 * points side by side, at most --jobs tasks at once across them all. A failed point does not stop the others; the
 * sweep ends with the first failure's error, after a summary naming the failed points. `onDone` is told the sweep's
 * runs before that error is thrown (run --json prints them with it).
 */
export async function runSweep(opts: RunOptions, req: SweepRequest, app: AppEnv, onDone?: (run: SweepRun) => void): Promise<SweepRun> {
  const labels: RunLabels = opts.labels ?? { experiment: null, tags: {} };
  if (opts.detach) throw new UsageError('--sweep with --detach: a sweep is followed to its end', { suggestions: ['Drop --detach; on Slurm the points still run as one job array.'] });
  const slots = taskSlots(jobsLimit(opts.jobs));
  const plan = planSweep(opts, req, app);
  const remove = writeSweep(plan, labels);
  try {
    // Each point as a whole (its tasks' inputs from the shared tasks do not exist yet), and the shared tasks' run.
    const all = [...plan.shared, ...plan.tasks].join(',');
    for (const p of plan.points) planFor({ ...opts, tasks: all, params: p.params, taskArgs: p.wholeTaskArgs }, app);
    if (plan.shared.length) planFor({ ...opts, tasks: plan.shared.join(','), taskArgs: plan.sharedTaskArgs }, app);
  } catch (e) {
    remove();
    throw e;
  }
  app.log.info(`sweep ${plan.id}: ${plan.points.length} points of ${plan.tasks.join(', ')}${plan.shared.length ? ` after ${plan.shared.join(', ')} (run once)` : ''}; ${join(plan.dir, SWEEP_FILE)}`);
  const result: SweepRun = { id: plan.id, dir: plan.dir, shared: [], points: [] };
  if (plan.shared.length && !plan.batch) {
    try {
      result.shared = await runTasks(
        { ...opts, tasks: plan.shared.join(','), taskArgs: plan.sharedTaskArgs, labels: pointLabels(labels, plan.id, null, {}), onFailure: (r) => (result.shared = r) },
        app,
      );
    } catch (e) {
      // Refused before any task started (exit 2-4): the sweep leaves nothing behind either.
      if (result.shared.length === 0 && isMlcubeError(e) && e.exitCode >= 2 && e.exitCode <= 4) remove();
      onDone?.(result);
      throw e;
    }
  }
  if (plan.batch) return runArray(plan, opts, labels, result, remove, app, onDone);
  const failures: { index: number; error: unknown }[] = [];
  // One point's pre-flight at a time (an image pulled or built, the policy gate): a point starts once the one before
  // it passed its own (its hooks' beforeRun) or failed; then they run side by side.
  let previous = Promise.resolve();
  result.points = await Promise.all(
    plan.points.map(async (p): Promise<PointRun> => {
      let ran: TaskRun[] = [];
      const point = { index: p.index, values: p.values };
      const before = previous;
      let checked = () => {};
      previous = new Promise<void>((res) => (checked = res));
      await before;
      try {
        const tasks = await runTasks(
          { ...opts, tasks: plan.tasks.join(','), params: p.params, taskArgs: p.taskArgs, labels: pointLabels(labels, plan.id, p.index, p.values), slots, onFailure: (r) => (ran = r) },
          app,
          { hooks: [{ name: 'sweep-start', beforeRun: () => checked() }] },
        );
        return { ...point, status: 'succeeded', exitCode: 0, tasks };
      } catch (e) {
        failures.push({ index: p.index, error: e });
        app.log.error(`sweep ${plan.id}: point ${p.index} (${describeValues(p.values)}) failed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
        return { ...point, status: 'failed', exitCode: isMlcubeError(e) ? e.exitCode : 1, tasks: ran };
      } finally {
        checked();
      }
    }),
  );
  const ok = result.points.filter((p) => p.status === 'succeeded').length;
  app.log.info(`sweep ${plan.id}: ${ok} of ${result.points.length} points succeeded${failures.length ? `; failed: ${failures.map((f) => `point ${f.index}`).join(', ')}` : ''}`);
  onDone?.(result);
  if (failures.length) {
    app.log.error(`sweep ${plan.id}: ${failures.length} of ${result.points.length} points failed (${failures.map((f) => `point ${f.index}`).join(', ')}); the first failure follows`);
    throw failures[0].error;
  }
  return result;
}

/**
 * A sweep on a batch runner (Slurm): the shared tasks submitted as an ordinary graph and the points as ONE array job,
 * each element afterok on every shared task's job and running the points' tasks in one inner `mlcube run`, which
 * records them (labels by the job environment). Followed to the end as the attached sweep is, with the same summary.
 */
async function runArray(plan: SweepPlan, opts: RunOptions, labels: RunLabels, result: SweepRun, remove: () => void, app: AppEnv, onDone?: (run: SweepRun) => void): Promise<SweepRun> {
  const ended: { exitCode: number }[] = [];
  const order: number[] = [];
  const alone = plan.shared.length === 0;
  const first = plan.points[0];
  const array = {
    spec: {
      name: 'sweep',
      tasks: plan.tasks,
      elements: plan.points.map((p) => ({ params: p.params, taskArgs: p.taskArgs, env: { [RUN_LABELS_ENV]: JSON.stringify(pointLabels(labels, plan.id, p.index, p.values)) } })),
      timeoutMs: plan.timeoutMs,
    },
    alone,
    onEnded: (k: number, r: { exitCode: number }) => {
      ended[k] = r;
      order.push(k);
    },
  };
  // No shared task: the run is one point's (checked as any run is), and only the array is submitted.
  const run = alone
    ? { ...opts, tasks: plan.tasks.join(','), params: first.params, taskArgs: first.taskArgs }
    : { ...opts, tasks: plan.shared.join(','), taskArgs: plan.sharedTaskArgs, labels: pointLabels(labels, plan.id, null, {}) };
  try {
    result.shared = await runTasks({ ...run, array, onFailure: (r) => (result.shared = r) }, app);
  } catch (e) {
    if (result.shared.length === 0 && ended.length === 0 && isMlcubeError(e) && e.exitCode >= 2 && e.exitCode <= 4) remove();
    onDone?.({ ...result, points: pointRuns(plan, ended) });
    throw e;
  }
  result.points = pointRuns(plan, ended);
  // In the order they ended: the first failure's exit code is the sweep's.
  const failed = [...order, ...plan.points.map((_, k) => k).filter((k) => !order.includes(k))].map((k) => result.points[k]).filter((p) => p.status === 'failed');
  for (const p of failed) app.log.error(`sweep ${plan.id}: point ${p.index} (${describeValues(p.values)}) failed with exit code ${p.exitCode}`);
  app.log.info(
    `sweep ${plan.id}: ${result.points.length - failed.length} of ${result.points.length} points succeeded${failed.length ? `; failed: ${failed.map((p) => `point ${p.index}`).join(', ')}` : ''}`,
  );
  onDone?.(result);
  if (failed.length) {
    throw new TaskFailedError(
      `sweep ${plan.id}: ${failed.length} of ${result.points.length} points failed (${failed.map((p) => `point ${p.index} with exit code ${p.exitCode}`).join(', ')})`,
      failed[0].exitCode,
      {
        suggestions: [`Read the points' job output (slurm.log_dir, sweep-<job id>_<point>.out) and records (mlcube runs list --sweep=${plan.id} --status=failed).`],
      },
    );
  }
  return result;
}

const pointRuns = (plan: SweepPlan, ended: readonly ({ exitCode: number } | undefined)[]): PointRun[] =>
  plan.points.map((p, k) => ({ index: p.index, values: p.values, status: ended[k]?.exitCode === 0 ? 'succeeded' : 'failed', exitCode: ended[k]?.exitCode ?? 1, tasks: [] }));

export const describeValues = (v: PlannedPoint['values']) =>
  Object.entries(v)
    .map(([k, x]) => `${k}=${String(x)}`)
    .join(', ');

/** --experiment and --tag as the labels of a run (checked: exit 2). */
export function labelsOf(experiment: string | undefined, tags: readonly string[]): RunLabels | undefined {
  if (experiment === undefined && tags.length === 0) return undefined;
  return { experiment: experiment === undefined ? null : checkExperiment(experiment), tags: parseTags(tags) };
}
