import { basename, dirname } from 'node:path';
import { ParameterError, UsageError } from '../errors.js';
import { isTree, type Tree } from '../config/tree.js';
import { hostPath } from './paths.js';
import { splitCommand } from './split-command.js';
import type { FsProbe } from './fs-probe.js';
import type { IoType } from './normalize.js';
import { forbiddenOutput, insideRecords, isolationOf, RECORDS_DIR, within, type Isolation } from './isolation.js';

export interface ResolvedParam {
  name: string;
  io: IoType;
  type: 'file' | 'directory';
  hostPath: string;
  /** Where hostPath really is (FsProbe.realTarget): what a mount shows, what a write reaches. */
  realPath: string;
  /** The real directory a mount of this parameter shows: realPath for a directory, its parent's for a file. */
  realDir: string;
  opts?: 'ro' | 'rw';
  /** Nothing is at hostPath yet (an output, an optional input, or an input an earlier task of this run makes). */
  missing?: true;
  /** An output outside the workspace (allowed because the command line named it), or inside it through a link that leads out. */
  outside?: 'explicit' | 'link';
  /**
   * Encrypted (README "Encrypted inputs and outputs"): hostPath is the ciphertext file, `type` what it holds. The
   * task is shown the plaintext in a private place instead (src/app/private-io.ts).
   */
  encryption?: ParamEncryption;
}

/** Where an encrypted input's key comes from, or the consumer key an output is sealed to. */
export type ParamEncryption = { kind: 'key_file'; path: string } | { kind: 'key_env'; name: string } | { kind: 'key_command'; argv: string[]; command: string } | { kind: 'recipient'; path: string };

export interface ResolvedTask {
  name: string;
  entrypoint?: string;
  params: ResolvedParam[];
  isolation: Isolation;
}

export interface ResolveContext {
  workspace: string;
  env: Record<string, string | undefined>;
  home: string;
  fs: FsProbe;
  /** Host paths that earlier tasks of this run will create (so a missing input may be expected). */
  pending?: ReadonlyMap<string, string>;
  /** Parameters whose path the command line gave (paramKey), the only outputs that may lie outside the workspace. */
  explicit?: ReadonlySet<string>;
}

/** Key of a parameter in ResolveContext.explicit. */
export const paramKey = (task: string, io: IoType, name: string) => `${task}\u0000${io}\u0000${name}`;

interface RawParam {
  name: string;
  io: IoType;
  spec: Tree;
}

function rawParams(task: Tree): RawParam[] {
  const params = isTree(task.parameters) ? task.parameters : {};
  const out: RawParam[] = [];
  for (const io of ['inputs', 'outputs'] as const) {
    const group = isTree(params[io]) ? (params[io] as Tree) : {};
    for (const [name, spec] of Object.entries(group)) out.push({ name, io: io === 'inputs' ? 'input' : 'output', spec: spec as Tree });
  }
  return out;
}

export function taskNames(cfg: Tree): string[] {
  return Object.keys(cfg.tasks as Tree);
}

/**
 * --task=a,b: the tasks named (each once; their order is the task graph's, not this one's); empty means every task
 * of the cube. Unknown names list what exists.
 */
export function selectTasks(cfg: Tree, spec: string | undefined): string[] {
  const all = taskNames(cfg);
  const wanted = (spec ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (wanted.length === 0) return all;
  for (const t of wanted) {
    if (!all.includes(t)) {
      throw new UsageError(`unknown task "${t}" (the cube has: ${all.join(', ')})`, { place: { task: t }, suggestions: [`Use --task=${all[0]} or another listed task.`] });
    }
  }
  return [...new Set(wanted)];
}

/** What path resolution needs besides the configuration (no disk: see ResolveContext for that). */
export type PathContext = Pick<ResolveContext, 'workspace' | 'env' | 'home'>;

/** A parameter's host path as declared, before the disk is looked at (the task graph's input). */
export interface DeclaredPath {
  name: string;
  io: IoType;
  /** The declared type; `unknown` until the disk settles it. */
  type: string;
  path: string;
}

/** The host paths a task's parameters name (an optional input left `null` names none). Pure. */
export function declaredPaths(cfg: Tree, taskName: string, ctx: PathContext): DeclaredPath[] {
  const task = (cfg.tasks as Tree)[taskName];
  return rawParams(isTree(task) ? task : {})
    .filter((p) => String(p.spec.default) !== 'null')
    .map((p) => ({ name: p.name, io: p.io, type: String(p.spec.type ?? 'unknown'), path: hostPath(String(p.spec.default), ctx.workspace, ctx.env, ctx.home) }));
}

/** Where an input would come from: the task (other than `except`) that has an output at the same host path. */
export function producerOf(cfg: Tree, path: string, ctx: Omit<ResolveContext, 'fs'>, except?: string): string | undefined {
  for (const [t, task] of Object.entries(cfg.tasks as Tree)) {
    if (t === except) continue;
    for (const p of rawParams(task as Tree)) {
      if (p.io !== 'output') continue;
      const out = hostPath(String(p.spec.default), ctx.workspace, ctx.env, ctx.home);
      if (out === path || path.startsWith(out + '/')) return t;
    }
  }
  return undefined;
}

/**
 * Resolves one task's parameters to typed host paths and checks them, touching nothing.
 * Unknown types are settled from disk (inputs) or rejected (outputs), as the Python MLCube does; unlike it,
 * a missing input is an error (naming the task that produces it) instead of an empty directory.
 */
export function resolveTask(cfg: Tree, taskName: string, ctx: ResolveContext): ResolvedTask {
  const task = (cfg.tasks as Tree)[taskName] as Tree;
  const params: ResolvedParam[] = [];
  const isolation = isolationOf(ctx.workspace, ctx.home, ctx.env, ctx.fs);
  for (const p of rawParams(task)) {
    const place = { task: taskName, parameter: p.name };
    const declared = String(p.spec.type ?? 'unknown');
    const value = String(p.spec.default);
    const path = hostPath(value, ctx.workspace, ctx.env, ctx.home);
    // A NUL byte cannot be part of a path (the OS would cut it there): refuse it before any file call sees it.
    if (path.includes('\0')) throw new ParameterError(`the path ${JSON.stringify(value)} holds a NUL byte`, { place, suggestions: ['Remove the NUL (\\0) character from the value.'] });
    const kind = ctx.fs.kind(path);
    if (kind === 'loop' || kind === 'not-a-directory' || kind === 'name-too-long' || kind === 'inaccessible') {
      const why = {
        loop: 'it goes through a symbolic link loop',
        'not-a-directory': 'it goes through a file where a directory is needed',
        'name-too-long': 'a name along it is too long for the file system (over 255 bytes) or the path is',
        inaccessible: 'a directory along it may not be searched by this user (permission denied)',
      }[kind];
      throw new ParameterError(`path ${path} cannot be resolved: ${why}`, { place, suggestions: ['Fix the path (or the permissions / link along it), or point the parameter elsewhere.'] });
    }
    const optional = p.io === 'input' && (value === 'null' || p.spec.optional === true);
    const encryption = isTree(p.spec.encryption) ? encryptionOf(p.spec.encryption, p.io, place, ctx) : undefined;
    if (encryption && declared !== 'file' && declared !== 'directory') {
      throw new ParameterError(`an encrypted parameter needs its type (what the ciphertext holds): found "${declared}"`, {
        place,
        suggestions: ['Write type: file or type: directory beside encryption.'],
      });
    }
    let type: 'file' | 'directory';
    if (declared === 'file' || declared === 'directory') type = declared;
    else if (declared === 'unknown') {
      if (p.io === 'output') {
        throw new ParameterError(`type of output "${value}" is unknown`, {
          place,
          suggestions: [`Say what it is: end the path with "/" for a directory, or write {type: file, default: ${value}}.`],
        });
      }
      if (kind === 'directory' || kind === 'file') type = kind;
      else if (optional || isPending(ctx.pending, path)) type = 'file';
      else throw missingInput(cfg, taskName, p.name, path, ctx, 'has type unknown and does not exist, so its type cannot be told');
    } else {
      throw new ParameterError(`type "${declared}" is not one of file, directory, unknown`, { place, suggestions: ['Use type: file or type: directory.'] });
    }
    const opts = p.spec.opts;
    if (opts !== undefined && opts !== 'ro' && opts !== 'rw') {
      throw new ParameterError(`opts "${String(opts)}" is not ro or rw`, { place, suggestions: ['Use opts: ro (read-only) or opts: rw.'] });
    }
    if (encryption && kind === 'directory') {
      throw new ParameterError(`${path} is a directory, but an encrypted parameter's path is the ciphertext file (the ${type} it holds is shown to the task in a private place)`, {
        place,
        suggestions: [
          p.io === 'input'
            ? `Encrypt it first: mlcube encrypt --key-file=KEY ${path} ${path}.enc, and point the parameter at ${path}.enc.`
            : `Point the parameter at a file path, e.g. ${p.name}=${basename(path)}.enc.`,
        ],
      });
    }
    if (!encryption && kind === 'file' && type === 'directory') {
      throw new ParameterError(`${path} is an existing file but the parameter is a directory`, {
        place,
        suggestions: ['Move the file away, or point the parameter at a directory (or declare it type: file).'],
      });
    }
    if (!encryption && kind === 'directory' && type === 'file') {
      throw new ParameterError(`${path} is an existing directory but the parameter is a file`, {
        place,
        suggestions: ['Point the parameter at a file path, or declare it type: directory.'],
      });
    }
    if (kind === 'other') {
      throw new ParameterError(`${path} is neither a file nor a directory`, { place, suggestions: ['Point the parameter at a regular file or directory.'] });
    }
    if (p.io === 'input' && kind === 'missing' && !optional && !isPending(ctx.pending, path)) {
      throw missingInput(cfg, taskName, p.name, path, ctx, 'does not exist');
    }
    if (p.io === 'output' && type === 'file') {
      const parentKind = ctx.fs.kind(dirname(path));
      if (parentKind === 'file' || parentKind === 'not-a-directory') {
        throw new ParameterError(`the directory of output file ${path} is an existing file`, {
          place,
          suggestions: [`Remove or rename ${dirname(path)}, or choose another output path.`],
        });
      }
    }
    const realPath = ctx.fs.realTarget(path);
    const realDir = type === 'directory' && !encryption ? realPath : ctx.fs.realTarget(dirname(path));
    if (insideRecords(path, realPath, isolation)) {
      throw new ParameterError(`${path}${realPath !== path ? ` (${realPath})` : ''} is inside the workspace's ${RECORDS_DIR}, where mlcube keeps its run records: no task may read or write there`, {
        place,
        suggestions: [`Point the parameter elsewhere in the workspace, e.g. ${p.name}=${p.name}${type === 'directory' ? '/' : `/${basename(path)}`}.`],
      });
    }
    let outside: ResolvedParam['outside'];
    if (p.io === 'output') {
      const why = forbiddenOutput([path, realPath], isolation);
      if (why) {
        throw new ParameterError(`output ${value} resolves to ${realPath}, which ${why}: mlcube lets no task write there`, {
          place,
          suggestions: [
            `Write it inside the workspace (e.g. ${p.name}=${p.name}${type === 'directory' ? '/' : `/${basename(path) || p.name}`}) or in a directory of your own outside the system directories, named on the command line.`,
          ],
        });
      }
      if (!within(path, ctx.workspace)) {
        if (!ctx.explicit?.has(paramKey(taskName, p.io, p.name))) {
          throw new ParameterError(`output ${value} is ${path}, outside the workspace ${ctx.workspace}, and comes from the cube file: a cube's own defaults may only write inside the workspace`, {
            place,
            suggestions: [
              `If that is where you want it, say so on the command line: ${p.name}=${path} (or -Ptasks.${taskName}.parameters.outputs.${p.name}.default=${path}); otherwise fix the cube's default to a path relative to the workspace.`,
            ],
          });
        }
        outside = 'explicit';
      } else if (!within(realPath, isolation.realWorkspace)) outside = 'link';
    }
    params.push({
      name: p.name,
      io: p.io,
      type,
      hostPath: path,
      realPath,
      realDir,
      ...(opts ? { opts: opts as 'ro' | 'rw' } : {}),
      ...(kind === 'missing' ? { missing: true as const } : {}),
      ...(outside ? { outside } : {}),
      ...(encryption ? { encryption } : {}),
    });
  }
  return { name: taskName, ...(typeof task.entrypoint === 'string' ? { entrypoint: task.entrypoint } : {}), params, isolation };
}

/** A parameter's `encryption` (shape checked by the schema): the key or recipient it names, which must exist. */
function encryptionOf(spec: Tree, io: IoType, place: { task: string; parameter: string }, ctx: ResolveContext): ParamEncryption {
  const [key, raw] = Object.entries(spec)[0] as [string, string];
  if ((key === 'recipient') !== (io === 'output')) {
    throw new ParameterError(
      `encryption.${key} is for ${io === 'input' ? 'outputs' : 'inputs'}: ${io === 'input' ? 'an input is decrypted with key_file, key_env or key_command' : 'an output is sealed to a recipient'}`,
      {
        place,
        suggestions: [io === 'input' ? 'Use encryption: {key_file: path/to/key}.' : 'Use encryption: {recipient: path/to/recipient.pub}.'],
      },
    );
  }
  if (key === 'key_env') {
    // Checked before anything is created; its value is read (and checked) when the task starts.
    if (!ctx.env[raw])
      throw new ParameterError(`the key of this encrypted input is to come from $${raw}, which is not set`, { place, suggestions: [`export ${raw}=<64 hex digits> before mlcube run.`] });
    return { kind: 'key_env', name: raw };
  }
  if (key === 'key_command') return { kind: 'key_command', argv: splitCommand(raw, 'encryption.key_command'), command: raw };
  const path = hostPath(raw, ctx.workspace, ctx.env, ctx.home);
  if (ctx.fs.kind(path) !== 'file') {
    throw new ParameterError(`encryption.${key} ${path} is not a file (${ctx.fs.kind(path)})`, {
      place,
      suggestions: [
        key === 'recipient'
          ? "Make one with mlcube keys generate --kind=x25519, and give the consumer's recipient.pub."
          : 'Point key_file at the 32-byte key the input was encrypted with (head -c 32 /dev/urandom > KEY made it).',
      ],
    });
  }
  return { kind: key as 'key_file' | 'recipient', path };
}

function isPending(pending: ReadonlyMap<string, string> | undefined, path: string): boolean {
  if (!pending) return false;
  for (const p of pending.keys()) if (path === p || path.startsWith(p + '/')) return true;
  return false;
}

function missingInput(cfg: Tree, task: string, param: string, path: string, ctx: ResolveContext, why: string): ParameterError {
  const producer = producerOf(cfg, path, ctx, task);
  return new ParameterError(`input ${path} ${why}`, {
    place: { task, parameter: param },
    suggestions: producer
      ? [`It is an output of task "${producer}": run it first, e.g. mlcube run --task=${producer},${task}.`]
      : [`Create it, or point the parameter elsewhere: ${param}=/path/to/${param}.`],
  });
}

/** Host paths of a task's outputs (what later tasks in the same run may consume). */
export function outputPaths(task: ResolvedTask): string[] {
  return task.params.filter((p) => p.io === 'output').map((p) => p.hostPath);
}
