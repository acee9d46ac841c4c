import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../atomic-write.js';
import { Document, isMap, isScalar, parseDocument } from 'yaml';
import { UsageError, type ErrorPlace } from '../errors.js';
import { settingsPath, builtinPlatforms } from '../config/settings.js';
import { runnerDefaults } from '../config/runner-defaults.js';
import { findRunner, RUNNERS } from '../../runners/index.js';
import { parseYaml, type YamlSource } from '../config/yaml-source.js';
import { YAML_11 } from '../config/yaml-schema.js';
import { isTree, getPath, type Tree } from '../config/tree.js';
import { toYaml } from './show-config.js';
import type { AppEnv } from './context.js';

/**
 * `mlcube config`: the system settings file (named platforms). Edits keep the file's comments and are
 * written atomically; unlike the Python MLCube, errors exit non-zero and `--copy-platform` works.
 */
export class SettingsAdmin {
  readonly file: string;
  private doc: Document;
  /** The file as read (places for errors); undefined when there is none yet. */
  private readonly source: YamlSource | undefined;

  constructor(app: AppEnv) {
    this.file = settingsPath(app.env, app.home);
    const text = existsSync(this.file) ? readFileSync(this.file, 'utf8') : '';
    this.source = text ? parseYaml(text, this.file) : undefined; // located syntax errors
    this.doc = text ? parseDocument(text, YAML_11) : new Document({}, YAML_11);
    const data = (this.doc.toJS() ?? {}) as Tree;
    for (const k of ['runners', 'platforms', 'storage']) if (!isTree(data[k])) this.doc.set(k, this.doc.createNode({}));
  }

  private platforms(): Tree {
    return (this.doc.toJS().platforms ?? {}) as Tree;
  }

  list(): Tree {
    return { file: this.file, platforms: { ...builtinPlatforms(RUNNERS), ...this.platforms() } };
  }

  get(key: string): unknown {
    const data = { ...(this.doc.toJS() as Tree), platforms: { ...builtinPlatforms(RUNNERS), ...this.platforms() } };
    const v = getPath(data, key.split('.'));
    if (v === undefined) throw new UsageError(`no key "${key}" in ${this.file}`, { suggestions: ['List what exists with: mlcube config --list'] });
    return v;
  }

  createPlatform(runner: string, name: string): void {
    const description = findRunner(runner);
    if (!description) throw new UsageError(`unknown runner "${runner}" (runners: ${RUNNERS.map((r) => r.name).join(', ')})`, { suggestions: [`mlcube config --create-platform docker ${name}`] });
    this.mustNotExist(name);
    this.doc.setIn(['platforms', name], this.doc.createNode(runnerDefaults(description)));
    this.save();
  }

  removePlatform(name: string): void {
    this.mustExist(name);
    this.doc.deleteIn(['platforms', name]);
    this.save();
  }

  renamePlatform(from: string, to: string): void {
    const value = this.mustExist(from);
    this.mustNotExist(to);
    this.doc.deleteIn(['platforms', from]);
    this.doc.setIn(['platforms', to], this.doc.createNode(value));
    this.save();
  }

  copyPlatform(from: string, to: string): void {
    const value = { ...builtinPlatforms(RUNNERS), ...this.platforms() }[from];
    if (!isTree(value)) throw this.missing(from);
    this.mustNotExist(to);
    this.doc.setIn(['platforms', to], this.doc.createNode(value));
    this.save();
  }

  /**
   * `--rename-runner OLD NEW [--update-platforms]`, as the Python MLCube: OLD is an entry of the file's `runners:`
   * section, NEW is not; platforms whose `runner:` is OLD are pointed at NEW only with `updatePlatforms`, else
   * nothing changes. Unlike Python, a platform's runner is found here by its built-in name, so platforms are only
   * pointed at a NEW that is one (anything else would make them unusable). Returns the platforms updated.
   */
  renameRunner(from: string, to: string, updatePlatforms: boolean): string[] {
    this.mustBeRunner(from);
    if (to in this.runners())
      throw new UsageError(`runner "${to}" already exists in ${this.file}`, {
        place: this.placeOf(['runners', to]),
        suggestions: [`Remove it first (mlcube config --remove-runner ${to}) or pick another name.`],
      });
    const using = this.platformsUsing(from);
    if (using.length && !updatePlatforms)
      throw new UsageError(`cannot rename runner "${from}": platform${using.length > 1 ? 's' : ''} ${using.join(', ')} use${using.length > 1 ? '' : 's'} it; nothing was changed`, {
        place: this.placeOf(['platforms', using[0], 'runner']),
        suggestions: [`Pass --update-platforms to point ${using.length > 1 ? 'them' : 'it'} at "${to}" too: mlcube config --rename-runner ${from} ${to} --update-platforms`],
      });
    if (using.length && !findRunner(to))
      throw new UsageError(
        `cannot point platform${using.length > 1 ? 's' : ''} ${using.join(', ')} at runner "${to}": this runtime finds a platform's runner by its built-in name (${RUNNERS.map((r) => r.name).join(', ')}), so ${using.length > 1 ? 'they' : 'it'} could no longer run; nothing was changed`,
        {
          place: this.placeOf(['platforms', using[0], 'runner']),
          suggestions: [`Rename it to one of those names, or remove ${using.join(', ')} first (mlcube config --remove-platform ${using[0]}).`],
        },
      );
    const runners = this.doc.get('runners', true);
    const pair = isMap(runners) ? runners.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === from) : undefined;
    // The key renamed in place: the entry keeps its position and comments.
    if (pair && isScalar(pair.key)) pair.key.value = to;
    for (const p of using) this.doc.setIn(['platforms', p, 'runner'], to);
    this.save();
    return using;
  }

  /**
   * `--remove-runner NAME [--remove-platforms]`, as the Python MLCube: the platforms that use it are removed with
   * it only with `removePlatforms`, else nothing changes. Unlike Python, an unknown name is an error. Returns the
   * platforms removed.
   */
  removeRunner(name: string, removePlatforms: boolean): string[] {
    this.mustBeRunner(name);
    const using = this.platformsUsing(name);
    if (using.length && !removePlatforms)
      throw new UsageError(`cannot remove runner "${name}": platform${using.length > 1 ? 's' : ''} ${using.join(', ')} use${using.length > 1 ? '' : 's'} it; nothing was changed`, {
        place: this.placeOf(['platforms', using[0], 'runner']),
        suggestions: [`Pass --remove-platforms to remove ${using.length > 1 ? 'them' : 'it'} too: mlcube config --remove-runner ${name} --remove-platforms`],
      });
    for (const p of using) this.doc.deleteIn(['platforms', p]);
    this.doc.deleteIn(['runners', name]);
    this.save();
    return using;
  }

  private runners(): Tree {
    return (this.doc.toJS().runners ?? {}) as Tree;
  }

  private platformsUsing(runner: string): string[] {
    return Object.entries(this.platforms())
      .filter(([, p]) => isTree(p) && p.runner === runner)
      .map(([n]) => n);
  }

  private mustBeRunner(name: string): void {
    if (name in this.runners()) return;
    const known = Object.keys(this.runners());
    throw new UsageError(`no runner "${name}" in the runners: section of ${this.file} (runners there: ${known.join(', ') || 'none'})`, {
      place: this.placeOf(['runners']),
      suggestions: [
        `Pass one of the runners listed there (\`mlcube config --get runners\` prints them); the built-in runners (${RUNNERS.map((r) => r.name).join(', ')}) need no entry there and cannot be renamed or removed.`,
      ],
    });
  }

  /** Where `path` is in the file as read (the deepest part of it that exists), or just the file. */
  private placeOf(path: string[]): ErrorPlace {
    return this.source?.place(path, true) ?? { file: this.file };
  }

  private mustExist(name: string): Tree {
    const p = this.platforms()[name];
    if (!isTree(p)) throw this.missing(name);
    return p;
  }

  private missing(name: string): UsageError {
    return new UsageError(`no platform "${name}" in ${this.file} (platforms there: ${Object.keys(this.platforms()).join(', ') || 'none'})`, {
      suggestions: ['Built-in platforms (docker, singularity, local) cannot be removed or renamed; copy one first: mlcube config --copy-platform docker mydocker'],
    });
  }

  private mustNotExist(name: string): void {
    if (name in this.platforms())
      throw new UsageError(`platform "${name}" already exists in ${this.file}`, { suggestions: [`Remove it first (mlcube config --remove-platform ${name}) or pick another name.`] });
  }

  private save(): void {
    writeFileAtomic(this.file, this.doc.toString({ indentSeq: false }));
  }
}

export function renderSettings(value: unknown): string {
  return toYaml(value);
}
