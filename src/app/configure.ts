import { buildConfig } from '../config/build.js';
import { RUNNERS } from '../../runners/index.js';
import { locatingConfigErrors } from '../config/config-places.js';
import { RuntimeUnavailableError } from '../errors.js';
import type { Tree } from '../config/tree.js';
import type { Runner, RunContext } from '../runner.js';
import type { AppEnv } from './context.js';

export interface PlatformOptions {
  mlcube?: string;
  workspace?: string;
  platform: string;
  params?: string[];
  signal: AbortSignal;
}

/** Builds the resolved config and a probed runner for the platform (shared by configure and inspect). */
export async function openRunner(opts: PlatformOptions, app: AppEnv): Promise<{ runner: Runner; ctx: RunContext }> {
  const built = buildConfig({ mlcube: opts.mlcube, workspace: opts.workspace, platform: opts.platform, params: opts.params, cwd: app.cwd, env: app.env, home: app.home, resolve: true }, RUNNERS);
  for (const w of built.warnings) app.log.warn(w);
  const settings = locatingConfigErrors(built.placeOf, () => built.runner!.settings(built.config));
  const runner = await built.runner!.create(settings);
  const a = await runner.probe();
  if (!a.available) throw new RuntimeUnavailableError(`the ${runner.name} runner cannot run here: ${a.reason}`, { suggestions: [a.remedy] });
  const ctx: RunContext = {
    config: built.config,
    settings,
    root: built.location.root,
    workspace: String((built.config.runtime as Tree).workspace),
    log: app.log,
    signal: opts.signal,
    env: app.env,
  };
  return { runner, ctx };
}

/** `configure`: prepare the platform (pull/build the image...). */
export async function configureCube(opts: PlatformOptions, app: AppEnv): Promise<void> {
  const { runner, ctx } = await openRunner(opts, app);
  await runner.configure(ctx);
}

/** `inspect`: facts about the configured image, e.g. {hash}. */
export async function inspectCube(opts: PlatformOptions & { force: boolean }, app: AppEnv): Promise<Tree> {
  const { runner, ctx } = await openRunner(opts, app);
  if (!runner.inspect) return { runner: runner.name, note: 'this runner has no image to inspect' };
  return runner.inspect(ctx, opts.force);
}
