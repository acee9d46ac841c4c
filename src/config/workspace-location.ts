import { join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { realFs, type FsProbe } from '../params/fs-probe.js';
import { locateCube, type CubeLocation } from './locate.js';

/** run's default workspace, as the configuration holds it (and show_config prints it, as the Python MLCube does). */
export const DEFAULT_WORKSPACE = '${runtime.root}/workspace';

/** --mlcube and --workspace as the user gave them (undefined: not given); every command takes both. */
export interface WhereGiven {
  mlcube?: string;
  workspace?: string;
}

export interface WorkspaceLocation {
  /** Absolute workspace directory. */
  dir: string;
  /** What runtime.workspace holds: DEFAULT_WORKSPACE, or the absolute --workspace. */
  value: string;
  /** The cube; absent only where a command that just reads a workspace was given --workspace and no --mlcube. */
  cube?: CubeLocation;
  /** How the workspace was chosen, for messages: `--workspace=ws` or `the workspace of cube /abs/cube`. */
  origin: string;
}

/**
 * The one workspace resolution of every command: --workspace (relative to the current directory, `~` expanded)
 * when given, else `<cube root>/workspace` of the cube --mlcube names (a directory or the cube file; default the
 * current directory). `cube: 'if-needed'` (commands that only read a workspace) locates no cube when --workspace
 * alone is given; `orElse` is the other fix such a command offers when there is no cube.
 */
export function locateWorkspace(
  given: WhereGiven,
  at: { cwd: string; home: string },
  opts: { cube: 'required' | 'if-needed'; orElse?: string } = { cube: 'required' },
  probe: Pick<FsProbe, 'kind'> = realFs,
): WorkspaceLocation {
  const ws = given.workspace === '' ? undefined : given.workspace;
  const readsOnly = opts.cube === 'if-needed';
  const orElse = readsOnly ? (opts.orElse ?? 'or pass --workspace=<workspace>') : undefined;
  const cube = !readsOnly || given.mlcube !== undefined || ws === undefined ? locateCube(given.mlcube, at.cwd, probe, orElse) : undefined;
  if (ws === undefined) {
    const origin = `the workspace of cube ${cube!.root}${given.mlcube === undefined ? ', the current directory' : ''}`;
    return { dir: join(cube!.root, 'workspace'), value: DEFAULT_WORKSPACE, cube, origin };
  }
  if (ws.startsWith('storage:')) {
    throw new UsageError(`--workspace=${ws}: storage: workspaces are not supported`, { suggestions: ['Pass a directory path.'] });
  }
  const dir = resolve(at.cwd, ws === '~' || ws.startsWith('~/') ? at.home + ws.slice(1) : ws);
  return { dir, value: dir, cube, origin: `--workspace=${ws}` };
}

/** A workspace a command reads (runs, provenance, jobs): one that is not there is an error naming it, not "nothing". */
export function existingWorkspace(given: WhereGiven, at: { cwd: string; home: string }, orElse?: string, probe: Pick<FsProbe, 'kind'> = realFs): WorkspaceLocation {
  const loc = locateWorkspace(given, at, { cube: 'if-needed', orElse }, probe);
  const kind = probe.kind(loc.dir);
  if (kind === 'directory') return loc;
  throw new UsageError(`workspace ${loc.dir} ${kind === 'missing' ? 'does not exist' : `is not a directory (${kind})`} (${loc.origin})`, {
    suggestions: [
      loc.value === DEFAULT_WORKSPACE
        ? `Pass the --workspace its runs used (\`mlcube run\` uses <cube root>/workspace unless given --workspace), or run the cube first.`
        : "Pass the --workspace the run used, or --mlcube=<cube> for that cube's own workspace.",
    ],
  });
}
