import { ConfigError, type ErrorPlace } from '../errors.js';
import type { ParamOverride } from './overrides.js';
import type { YamlSource } from './yaml-source.js';

/** Finds where a value of the effective configuration came from: path (e.g. ['runner', 'image']) -> file:line:col. */
export type ConfigPlaceOf = (path: readonly string[], atKey?: boolean) => ErrorPlace;

export interface ConfigOrigins {
  cube: YamlSource;
  overrides: readonly ParamOverride[];
  /** The runner section's origins, when a platform was chosen. */
  runner?: {
    /** The cube section merged into the runner (docker, singularity...). */
    section: string;
    platform: string;
    /** The settings file, when it defines the platform (built-in platforms are the runner's schema defaults). */
    settings?: YamlSource;
  };
}

/**
 * The place of a configuration value, in the order the layers win: the last -P override that sets it, then for
 * the runner section the cube's own section (`docker:`...), then the settings file's platform, then the cube file.
 */
export function configPlaces(origins: ConfigOrigins): ConfigPlaceOf {
  const { cube, overrides, runner } = origins;
  return (path, atKey = false) => {
    const asSet = runner && path[0] === 'runner' ? [runner.section, ...path.slice(1)] : path;
    const fromP = [...overrides].reverse().find((o) => prefixes(o.key, asSet) || prefixes(asSet, o.key) || prefixes(o.key, path) || prefixes(path, o.key));
    if (fromP) return { file: `-P ${fromP.raw}` };
    if (!runner || path[0] !== 'runner') return cube.place(path, atKey);
    const rest = path.slice(1);
    const inCube = [runner.section, ...rest];
    if (cube.holds(inCube)) return cube.place(inCube, atKey);
    const inSettings = ['platforms', runner.platform, ...rest];
    if (runner.settings?.holds(inSettings)) return runner.settings.place(inSettings, atKey);
    if (cube.holds([runner.section])) return cube.place(inCube, atKey);
    if (runner.settings?.holds(inSettings.slice(0, 2))) return runner.settings.place(inSettings, atKey);
    return { file: `${cube.file} (platform "${runner.platform}": the ${runner.section} runner's defaults)` };
  };
}

/** `short` is `long` or a path above it. */
export function prefixes(short: readonly string[], long: readonly string[]): boolean {
  return short.length <= long.length && short.every((k, i) => long[i] === k);
}

/**
 * Runs `fn`; a ConfigError it throws that names a configuration path but no place is thrown again located
 * (runners' settings and checks know the key, the config layer knows the file).
 */
export function locatingConfigErrors<T>(placeOf: ConfigPlaceOf | undefined, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (placeOf && e instanceof ConfigError && e.configPath && !e.place) throw new ConfigError(e.detail, { place: placeOf(e.configPath), suggestions: e.suggestions, cause: e.cause });
    throw e;
  }
}
