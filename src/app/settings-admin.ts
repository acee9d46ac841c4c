import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../atomic-write.js';
import { Document, parseDocument } from 'yaml';
import { UsageError } from '../errors.js';
import { settingsPath, builtinPlatforms } from '../config/settings.js';
import { runnerDefaults } from '../config/runner-defaults.js';
import { findRunner, RUNNERS } from '../../runners/index.js';
import { parseYaml } from '../config/yaml-source.js';
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

  constructor(app: AppEnv) {
    this.file = settingsPath(app.env, app.home);
    const text = existsSync(this.file) ? readFileSync(this.file, 'utf8') : '';
    if (text) parseYaml(text, this.file); // located syntax errors
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
