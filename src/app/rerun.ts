import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { buildConfig } from '../config/build.js';
import { redactSecrets } from '../config/secrets.js';
import type { Tree } from '../config/tree.js';
import { existingWorkspace, type WhereGiven } from '../config/workspace-location.js';
import { ConfigError } from '../errors.js';
import { sha256File } from '../provenance/digest.js';
import { replayOverrides } from '../provenance/replay.js';
import { findRun } from '../provenance/store.js';
import { RUNNERS } from '../../runners/index.js';
import type { AppEnv } from './context.js';
import { runTasks, type RunOptions, type TaskRun } from './run.js';

export interface RerunOptions {
  /** -P overrides and task overrides (name=value) on top of the recorded run's: recorded as the rerun's overrides. */
  params: string[];
  taskArgs: string[];
  signal: AbortSignal;
  stdoutTo?: RunOptions['stdoutTo'];
  onFailure?: RunOptions['onFailure'];
}

/**
 * `mlcube rerun RUN_ID`: the recorded task run again (README "Reruns"): the same cube file (its sha256 checked), the
 * same platform and workspace, -P overrides replayed so that the configuration is the recorded one, and the image
 * the record names (its digest checked before anything is created). Overrides given here are applied on top and
 * recorded (record.rerun). Anything that would make it another run is refused (exit 2) with the difference.
 */
export async function rerunTask(id: string, given: WhereGiven, o: RerunOptions, app: AppEnv): Promise<TaskRun[]> {
  const where = existingWorkspace(given, app);
  const rec = findRun(where.dir, id, where.origin);
  const cubeFile = join(rec.cube.root, rec.cube.file);
  const refuse = (what: string, fix: string) => new ConfigError(`run ${rec.run_id} cannot be rerun as it was: ${what}`, { place: { task: rec.task }, suggestions: [fix] });
  if (!existsSync(cubeFile)) throw refuse(`its cube file ${cubeFile} is gone`, 'Restore the cube where it was, or run the task anew with mlcube run.');
  const sha = (await sha256File(cubeFile)).sha256;
  if (sha !== rec.cube.sha256)
    throw refuse(
      `its cube file ${cubeFile} changed (sha256 ${rec.cube.sha256.slice(0, 12)}... then, ${sha.slice(0, 12)}... now)`,
      'Restore the cube file (e.g. git checkout), or run the task anew with mlcube run.',
    );
  const spec = RUNNERS.find((r) => r.name === rec.runner);
  if (!spec) throw refuse(`its runner "${rec.runner}" is not one of this mlcube's`, 'Run it with a version of mlcube that has that runner.');
  const config = (params: string[]) => {
    const built = buildConfig(
      { mlcube: cubeFile, cwd: app.cwd, env: app.env, home: app.home, platform: rec.platform, workspace: where.dir, params, resolve: true, overrideScope: [rec.task] },
      RUNNERS,
    );
    return redactSecrets(built.unresolved, built.config, app.env).config;
  };
  // The rerun's own overrides: -P keys, and the task overrides as the -P keys of the parameters they set.
  const overridden = [...o.params.map((p) => p.slice(0, p.indexOf('=')).trim()), ...taskArgKeys(rec.config as Tree, rec.task, o.taskArgs)];
  const replay = replayOverrides(rec.config as Tree, config(o.params), { task: rec.task, section: spec.section, given: overridden });
  if (replay.unreplayable.length) {
    const diffs = replay.unreplayable.map((d) => `${d.key}: ${JSON.stringify(d.recorded)} then, ${JSON.stringify(d.now)} now`);
    throw refuse(
      `its configuration cannot be rebuilt: ${diffs.join('; ')}`,
      `A value the record holds only as a digest (a secret) is given again with -P${replay.unreplayable[0].key}=VALUE; otherwise run the task anew with mlcube run (the platform or the runner defaults changed since).`,
    );
  }
  // The replay must give the recorded configuration exactly (compared as records redact it).
  const left = replayOverrides(rec.config as Tree, config([...replay.overrides, ...o.params]), { task: rec.task, section: spec.section, given: overridden });
  if (left.overrides.length || left.unreplayable.length)
    throw refuse(`its configuration cannot be rebuilt: ${[...left.overrides, ...left.unreplayable.map((d) => d.key)].join('; ')} still differ`, 'Run the task anew with mlcube run.');
  app.log.info(`rerunning run ${rec.run_id} (task "${rec.task}", platform ${rec.platform})${replay.overrides.length ? ` with its overrides ${replay.overrides.map((p) => `-P${p}`).join(' ')}` : ''}`);
  return runTasks(
    {
      mlcube: cubeFile,
      platform: rec.platform,
      tasks: rec.task,
      workspace: where.dir,
      params: [...replay.overrides, ...o.params],
      taskArgs: o.taskArgs,
      signal: o.signal,
      stdoutTo: o.stdoutTo,
      onFailure: o.onFailure,
      expectImageDigest: rec.image?.digest ?? undefined,
      // A rerun runs the task again: the point is to see it make the same outputs, not to be handed the old ones.
      noCache: true,
      // -P overrides by their key only: a value may be a secret, and the record's configuration holds it (redacted where it is one).
      rerun: { of: rec.run_id, overrides: [...o.params.map((p) => `-P${p.slice(0, p.indexOf('=')).trim()}`), ...o.taskArgs] },
    },
    app,
  );
}

/** The -P keys of the recorded task's parameters that `name=value` task overrides set. */
function taskArgKeys(config: Tree, task: string, taskArgs: readonly string[]): string[] {
  const params = ((config.tasks as Tree)?.[task] as Tree | undefined)?.parameters as Tree | undefined;
  return taskArgs.flatMap((a) => {
    const name = a.replace(/^--/, '').split('=')[0];
    return (['inputs', 'outputs'] as const).filter((io) => (params?.[io] as Tree | undefined)?.[name] !== undefined).map((io) => `tasks.${task}.parameters.${io}.${name}.default`);
  });
}
