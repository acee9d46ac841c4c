import { homedir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { statSync } from 'node:fs';
import { ConfigError, UsageError } from '../errors.js';
import type { ConfigProbe, RunnerDescription, RunnerFlags } from '../runner.js';
import type { CubeLocation } from './locate.js';
import { locateWorkspace } from './workspace-location.js';
import { readYamlFile, type YamlSource } from './yaml-source.js';
import { assertSchema, loadSchema, type JsonSchema } from './schemas.js';
import { loadSettings, platformConfig, settingsPath, type SystemSettings } from './settings.js';
import { parseParamOverrides, overridesTree, parseTaskArgs, type ParamOverride } from './overrides.js';
import { isTree, merge, type Tree } from './tree.js';
import { runnerDefaults, runnerSchema } from './runner-defaults.js';
import { keysNear, pathIsKnown } from './schema-paths.js';
import { resolveTree } from './interpolate.js';
import { normalizeTasks, parameterNames } from '../params/normalize.js';
import { paramKey } from '../params/resolve.js';
import { which } from '../which.js';
import { configPlaces, locatingConfigErrors, prefixes, type ConfigPlaceOf } from './config-places.js';

export interface BuildOptions {
  mlcube?: string;
  cwd: string;
  env: Record<string, string | undefined>;
  home?: string;
  /** Platform name; null builds the cube without any runner (describe). */
  platform: string | null;
  workspace?: string;
  /** Raw -P values (KEY=VALUE). */
  params?: readonly string[];
  /** Extra positional arguments: task-parameter overrides. */
  taskArgs?: readonly string[];
  flags?: RunnerFlags;
  /** OmegaConf.resolve over the whole tree (run/configure/describe always; show_config with --resolve). */
  resolve: boolean;
  /** Tasks whose parameters task overrides may name (default: all tasks). */
  overrideScope?: readonly string[];
}

export interface EffectiveConfig {
  config: Tree;
  /** The merged tree before interpolation (equal to config when not resolved): where run records tell secret values apart. */
  unresolved: Tree;
  location: CubeLocation;
  settings: SystemSettings;
  source: YamlSource;
  runner?: RunnerDescription;
  platform?: string;
  warnings: string[];
  /** Where a value of `config` came from (file:line:col, or the -P override). */
  placeOf: ConfigPlaceOf;
  /** Parameters whose path the command line gave (paramKey): a task override or a -P key reaching its default. */
  explicitParams: Set<string>;
  /** The run policies the cube file and the platform name (README "Policy gate"); --policy adds its own. */
  policies: PolicySource[];
}

/** A run policy file and who asked for it (said in messages). */
export interface PolicySource {
  file: string;
  from: string;
}

const realProbe: ConfigProbe = {
  isFile: (p) => statSync(p, { throwIfNoEntry: false })?.isFile() ?? false,
  which: (exe) => which(exe),
};

/** The Python MLCube's config pipeline (reference §2.3), with validation and helpful errors added. */
export function buildConfig(opts: BuildOptions, runners: readonly RunnerDescription[], probe: ConfigProbe = realProbe): EffectiveConfig {
  const where = locateWorkspace({ mlcube: opts.mlcube, workspace: opts.workspace }, { cwd: opts.cwd, home: opts.home ?? homedir() });
  const location = where.cube!;
  const source = readYamlFile(location.file);
  const cube = source.value;
  checkCubeShape(cube, source);
  assertSchema('mlcube.schema.json', cube, (p, atKey) => source.place(p, atKey), 'the cube file');

  const settings = loadSettings(settingsPath(opts.env, opts.home ?? homedir()));
  const workspace = where.value;
  const overrides = parseParamOverrides(opts.params ?? []);
  const P = overridesTree(overrides);

  let platformCfg: Tree = {};
  let spec: RunnerDescription | undefined;
  const policies: PolicySource[] = typeof (cube as Tree).policy === 'string' ? [{ file: resolve(location.root, String((cube as Tree).policy)), from: `the cube file ${location.file}` }] : [];
  if (opts.platform !== null) {
    platformCfg = platformConfig(settings, opts.platform, runners);
    const runnerName = String(platformCfg.runner);
    spec = runners.find((r) => r.name === runnerName);
    if (!spec) {
      throw new ConfigError(`platform "${opts.platform}" uses runner "${runnerName}", which this runtime does not provide`, {
        place: settings.source?.place(['platforms', opts.platform, 'runner']) ?? { file: settings.file },
        suggestions: [`Set the platform's runner: to one of: ${runners.map((r) => r.name).join(', ')}.`],
      });
    }
    // The platform's policy is the run's, not the runner's (src/policy): kept out of the runner section.
    if (platformCfg.policy !== undefined) {
      policies.push({ file: resolve(dirname(settings.file), String(platformCfg.policy)), from: `platform "${opts.platform}" of ${settings.file}` });
      delete platformCfg.policy;
    }
    for (const [k, v] of Object.entries(runnerDefaults(spec))) if (!(k in platformCfg)) platformCfg[k] = v;
    mergeFlags(P, spec, opts.flags ?? {});
  }

  checkOverridesMatch(overrides, cube as Tree, platformCfg, spec);

  let cfg = merge(cube as Tree, P, { runtime: { root: location.root, workspace }, runner: platformCfg });
  cfg.workspace = workspace;
  if (spec) spec.merge(cfg, probe);
  cfg = merge(cfg, P);
  const placeOf = configPlaces({ cube: source, overrides, runner: spec && { section: spec.section, platform: opts.platform!, settings: platformInSettings(settings, opts.platform!) } });
  const { runner: _r, runtime: _rt, workspace: _w, ...cubePart } = cfg;
  assertSchema('mlcube.schema.json', cubePart, placeOf, 'the configuration after overrides');
  if (spec) {
    assertSchema(spec.schema, cfg.runner, (p) => placeOf(['runner', ...p]), `runner section of platform "${opts.platform}"`);
    locatingConfigErrors(placeOf, () => spec.validate?.(cfg));
  }

  const taskArgs = parseTaskArgs(opts.taskArgs ?? []);
  const tasks = cfg.tasks as Tree;
  const known = parameterNames(tasks, opts.overrideScope);
  for (const name of taskArgs.keys()) {
    if (!known.includes(name)) {
      throw new UsageError(
        `task override "${name}=..." matches no parameter of ${opts.overrideScope ? `task(s) ${opts.overrideScope.join(', ')}` : 'any task'} (parameters: ${known.join(', ') || 'none'})`,
        {
          suggestions: ['Use one of the listed parameter names, e.g. data_dir=/path; for other settings use -Pkey.path=value.'],
        },
      );
    }
  }
  const normalized = normalizeTasks(tasks, taskArgs);
  cfg.tasks = normalized.tasks;
  const explicitParams = commandLineParams(normalized.tasks, taskArgs, overrides);

  const unresolved = cfg;
  if (opts.resolve) cfg = resolveTree(cfg, { env: opts.env, placeOf });
  return { config: cfg, unresolved, location, settings, source, runner: spec, platform: opts.platform ?? undefined, warnings: normalized.warnings, explicitParams, placeOf, policies };
}

/**
 * The parameters whose path the user gave on the command line: `name=value` (every task with that parameter) or a
 * -P key whose value reaches `tasks.<t>.parameters.<io>.<name>[.default]`. Everything else comes from the cube file.
 */
export function commandLineParams(tasks: Tree, taskArgs: ReadonlyMap<string, string>, overrides: readonly ParamOverride[]): Set<string> {
  const out = new Set<string>();
  for (const [t, task] of Object.entries(tasks)) {
    const params = isTree(task) && isTree(task.parameters) ? task.parameters : {};
    for (const io of ['inputs', 'outputs'] as const) {
      const group = isTree(params[io]) ? (params[io] as Tree) : {};
      for (const name of Object.keys(group)) {
        const path = ['tasks', t, 'parameters', io, name, 'default'];
        if (taskArgs.has(name) || overrides.some((o) => setsValue(o, path))) out.add(paramKey(t, io === 'inputs' ? 'input' : 'output', name));
      }
    }
  }
  return out;
}

/** The override's value holds something at `path` (a string where a parameter spec stands is its short form: the path). */
function setsValue(o: ParamOverride, path: readonly string[]): boolean {
  if (!prefixes(o.key, path)) return false;
  let v: unknown = o.value;
  for (const k of path.slice(o.key.length)) {
    if (!isTree(v)) return k === 'default' && typeof v === 'string';
    if (!(k in v)) return false;
    v = v[k];
  }
  return v !== undefined && v !== null;
}

function checkCubeShape(cube: unknown, source: YamlSource): asserts cube is Tree {
  if (!isTree(cube)) {
    throw new ConfigError(`the cube file must be a YAML mapping (found ${Array.isArray(cube) ? 'a list' : typeof cube})`, {
      place: { file: source.file, line: 1, col: 1 },
      suggestions: ['Start the file with keys such as `name:` and `tasks:`.'],
    });
  }
  if (Array.isArray(cube.tasks)) {
    throw new ConfigError('`tasks` is a list: that is the obsolete v1 MLCube schema (tasks as file names); tasks must be a mapping of task name to task', {
      place: source.place(['tasks']),
      suggestions: ['Rewrite as `tasks: {train: {parameters: {inputs: {...}, outputs: {...}}}}` (see README, "Cube author\'s guide").'],
    });
  }
}

function mergeFlags(P: Tree, spec: RunnerDescription, flags: RunnerFlags): void {
  const section = (P[spec.section] = isTree(P[spec.section]) ? P[spec.section] : {}) as Tree;
  for (const [flag, value] of Object.entries(flags) as [keyof RunnerFlags, string | undefined][]) {
    if (value === undefined) continue;
    if (value === '' && flag !== 'gpus') continue;
    const key = spec.flagKeys[flag];
    if (!key) {
      throw new UsageError(`--${flag} is not supported by the ${spec.name} runner`, {
        suggestions: [`Drop --${flag}, or use a platform whose runner supports it (docker supports --network, --security, --gpus, --memory, --cpu, --mount).`],
      });
    }
    section[key] = flag === 'gpus' ? value.trim() : value;
  }
}

function checkOverridesMatch(overrides: readonly ParamOverride[], cube: Tree, platformCfg: Tree, spec: RunnerDescription | undefined): void {
  const tree = { ...cube, runner: platformCfg, runtime: { root: '', workspace: '' } };
  const sub: Record<string, JsonSchema> = spec ? { runner: runnerSchema(spec) } : {};
  for (const o of overrides) {
    if (pathIsKnown(tree, loadSchema('mlcube.schema.json'), o.key, sub)) continue;
    throw new UsageError(`-P ${o.raw}: key "${o.key.join('.')}" matches nothing in the cube, the platform or the schema`, {
      suggestions: [
        `Keys at that level: ${keysNear(tree, loadSchema('mlcube.schema.json'), o.key, sub).join(', ') || '(none)'}. Fix the spelling (e.g. -Ptasks.<task>.parameters.inputs.<param>.opts=ro).`,
      ],
    });
  }
}

/** The settings file's source when it defines the platform (else the platform is built in). */
function platformInSettings(settings: SystemSettings, platform: string): YamlSource | undefined {
  return settings.source?.holds(['platforms', platform]) ? settings.source : undefined;
}
