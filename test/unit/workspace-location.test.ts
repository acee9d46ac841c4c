import { expect } from 'chai';
import type { PathKind } from '../../src/params/fs-probe.js';
import { DEFAULT_WORKSPACE, existingWorkspace, locateWorkspace, type WhereGiven } from '../../src/config/workspace-location.js';
import { MlcubeError } from '../../src/errors.js';

/** A filesystem of a few paths; everything else is missing. */
const fs = (paths: Record<string, PathKind>) => ({ kind: (p: string): PathKind => paths[p] ?? 'missing' });
const WORLD = fs({
  '/home/me/cubes/mnist': 'directory',
  '/home/me/cubes/mnist/mlcube.yaml': 'file',
  '/home/me/cubes/mnist/other.yaml': 'file',
  '/home/me/cubes/mnist/workspace': 'directory',
  '/home/me/here': 'directory',
  '/home/me/empty': 'directory',
  '/home/me/ws': 'directory',
  '/home/me/ws.txt': 'file',
});
const AT = { cwd: '/home/me/here', home: '/home/me' };
const IN_CUBE = { cwd: '/home/me/cubes/mnist', home: '/home/me' };

describe('locateWorkspace: the one workspace resolution of every command', () => {
  const ok: [string, WhereGiven, typeof AT, 'required' | 'if-needed', { dir: string; value: string; cube: string | undefined; origin: string }][] = [
    [
      'no flag, in the cube: <cube root>/workspace, kept as the interpolation',
      {},
      IN_CUBE,
      'required',
      { dir: '/home/me/cubes/mnist/workspace', value: DEFAULT_WORKSPACE, cube: '/home/me/cubes/mnist/mlcube.yaml', origin: 'the workspace of cube /home/me/cubes/mnist, the current directory' },
    ],
    [
      '--mlcube=dir, relative to the current directory',
      { mlcube: '../cubes/mnist' },
      AT,
      'required',
      { dir: '/home/me/cubes/mnist/workspace', value: DEFAULT_WORKSPACE, cube: '/home/me/cubes/mnist/mlcube.yaml', origin: 'the workspace of cube /home/me/cubes/mnist' },
    ],
    [
      '--mlcube=the cube file itself: its directory is the root',
      { mlcube: '/home/me/cubes/mnist/other.yaml' },
      AT,
      'required',
      { dir: '/home/me/cubes/mnist/workspace', value: DEFAULT_WORKSPACE, cube: '/home/me/cubes/mnist/other.yaml', origin: 'the workspace of cube /home/me/cubes/mnist' },
    ],
    [
      '--workspace relative to the current directory (not to the cube)',
      { mlcube: '../cubes/mnist', workspace: 'ws2' },
      AT,
      'required',
      { dir: '/home/me/here/ws2', value: '/home/me/here/ws2', cube: '/home/me/cubes/mnist/mlcube.yaml', origin: '--workspace=ws2' },
    ],
    ['--workspace=~/x: home expanded', { workspace: '~/x' }, IN_CUBE, 'required', { dir: '/home/me/x', value: '/home/me/x', cube: '/home/me/cubes/mnist/mlcube.yaml', origin: '--workspace=~/x' }],
    ['--workspace=~', { workspace: '~' }, IN_CUBE, 'required', { dir: '/home/me', value: '/home/me', cube: '/home/me/cubes/mnist/mlcube.yaml', origin: '--workspace=~' }],
    [
      '--workspace= (empty): the default, as run has always taken it',
      { workspace: '' },
      IN_CUBE,
      'required',
      { dir: '/home/me/cubes/mnist/workspace', value: DEFAULT_WORKSPACE, cube: '/home/me/cubes/mnist/mlcube.yaml', origin: 'the workspace of cube /home/me/cubes/mnist, the current directory' },
    ],
    [
      'reading a workspace: --workspace alone needs no cube',
      { workspace: '/home/me/ws' },
      AT,
      'if-needed',
      { dir: '/home/me/ws', value: '/home/me/ws', cube: undefined, origin: '--workspace=/home/me/ws' },
    ],
    [
      'reading a workspace: --mlcube given with --workspace is still checked',
      { mlcube: '../cubes/mnist', workspace: '/home/me/ws' },
      AT,
      'if-needed',
      { dir: '/home/me/ws', value: '/home/me/ws', cube: '/home/me/cubes/mnist/mlcube.yaml', origin: '--workspace=/home/me/ws' },
    ],
    [
      "reading a workspace: no flag is the cube's default too",
      {},
      IN_CUBE,
      'if-needed',
      { dir: '/home/me/cubes/mnist/workspace', value: DEFAULT_WORKSPACE, cube: '/home/me/cubes/mnist/mlcube.yaml', origin: 'the workspace of cube /home/me/cubes/mnist, the current directory' },
    ],
  ];
  for (const [name, given, at, cube, want] of ok) {
    it(name, () => {
      const got = locateWorkspace(given, at, { cube }, WORLD);
      expect({ dir: got.dir, value: got.value, cube: got.cube?.file, origin: got.origin }).to.deep.equal(want);
    });
  }

  const bad: [string, WhereGiven, typeof AT, 'required' | 'if-needed', RegExp, RegExp][] = [
    ['no cube in the current directory', {}, AT, 'required', /^no mlcube\.yaml in \/home\/me\/here \(the current directory; no --mlcube given\)$/, /run from the cube directory\.$/],
    ['no cube in the current directory, reading a workspace: --workspace is offered', {}, AT, 'if-needed', /^no mlcube\.yaml in \/home\/me\/here/, /or pass --workspace=<workspace>\.$/],
    ['a command that needs the cube needs it with --workspace too', { workspace: '/home/me/ws' }, AT, 'required', /^no mlcube\.yaml in \/home\/me\/here/, /--mlcube=<cube directory>/],
    ['--mlcube that does not exist', { mlcube: 'nope' }, AT, 'if-needed', /^\/home\/me\/here\/nope does not exist \(--mlcube=nope\)$/, /--mlcube=/],
    ['--mlcube naming a directory without mlcube.yaml', { mlcube: '/home/me/empty' }, AT, 'required', /^no mlcube\.yaml in \/home\/me\/empty \(--mlcube=\/home\/me\/empty\)$/, /--mlcube=/],
    ['storage: workspaces', { workspace: 'storage:s3://b' }, IN_CUBE, 'required', /storage: workspaces are not supported/, /directory path/],
  ];
  for (const [name, given, at, cube, message, fix] of bad) {
    it(`error: ${name}`, () => {
      let err: unknown;
      try {
        locateWorkspace(given, at, { cube }, WORLD);
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(MlcubeError);
      const e = err as MlcubeError;
      expect(e.exitCode).to.equal(2);
      expect(e.message).to.match(message);
      expect(e.suggestions.join(' ')).to.match(fix);
    });
  }
});

describe('existingWorkspace: a workspace a command reads must be there', () => {
  const rows: [string, WhereGiven, typeof AT, RegExp | string][] = [
    ['an existing directory', { workspace: '../ws' }, AT, '/home/me/ws'],
    ["the cube's own workspace", {}, IN_CUBE, '/home/me/cubes/mnist/workspace'],
    ['missing: named, with how it was chosen', { workspace: 'gone' }, AT, /^workspace \/home\/me\/here\/gone does not exist \(--workspace=gone\)$/],
    ['a file', { workspace: '/home/me/ws.txt' }, AT, /^workspace \/home\/me\/ws\.txt is not a directory \(file\) \(--workspace=\/home\/me\/ws\.txt\)$/],
    ['--mlcube through ..: the workspace path is normalised', { mlcube: '/home/me/empty/../cubes/mnist' }, { cwd: '/home/me/here', home: '/home/me' }, '/home/me/cubes/mnist/workspace'],
  ];
  for (const [name, given, at, want] of rows) {
    it(name, () => {
      if (typeof want === 'string') return void expect(existingWorkspace(given, at, undefined, WORLD).dir).to.equal(want);
      expect(() => existingWorkspace(given, at, undefined, WORLD)).to.throw(MlcubeError, want);
    });
  }

  it('a cube whose workspace is not there yet: the error names the workspace and its cube', () => {
    const noWs = fs({ '/c': 'directory', '/c/mlcube.yaml': 'file' });
    expect(() => existingWorkspace({ mlcube: '/c' }, AT, undefined, noWs)).to.throw(MlcubeError, /^workspace \/c\/workspace does not exist \(the workspace of cube \/c\)$/);
  });
});
