import { expect } from 'chai';
import { resolveTask, selectTasks } from '../../src/params/resolve.js';
import { hostPath } from '../../src/params/paths.js';
import type { FsProbe, PathKind } from '../../src/params/fs-probe.js';
import { ParameterError, UsageError } from '../../src/errors.js';

const fakeFs = (entries: Record<string, PathKind>): FsProbe => ({ kind: (p) => entries[p] ?? 'missing' });
const ctx = (entries: Record<string, PathKind>, pending?: Map<string, string>) => ({ workspace: '/ws', env: { DATA: '/data' }, home: '/home/u', fs: fakeFs(entries), pending });

const cube = (tasks: Record<string, unknown>) => ({ tasks });

describe('parameter resolution (host paths, types, checks)', () => {
  const paths: [string, string][] = [
    ['data', '/ws/data'],
    ['data/', '/ws/data'],
    ['/abs/x.txt', '/abs/x.txt'],
    ['~/x', '/home/u/x'],
    ['$DATA/mnist', '/data/mnist'],
    ['${DATA}/mnist', '/data/mnist'],
    ['$UNSET_VAR/x', '/ws/$UNSET_VAR/x'],
    ['a/../b', '/ws/b'],
  ];
  for (const [value, expected] of paths) it(`host path of ${value}`, () => expect(hostPath(value, '/ws', { DATA: '/data' }, '/home/u')).to.equal(expected));

  it('types unknown inputs from disk, keeps declared types and options', () => {
    const cfg = cube({
      t: { parameters: { inputs: { a: { default: 'a', type: 'unknown' }, b: { default: 'b.txt', type: 'unknown' }, c: { default: 'c', type: 'directory', opts: 'ro' } }, outputs: { o: { default: 'o/', type: 'directory' } } } },
    });
    const r = resolveTask(cfg, 't', ctx({ '/ws/a': 'directory', '/ws/b.txt': 'file', '/ws/c': 'directory', '/ws': 'directory' }));
    expect(r.params).to.deep.equal([
      { name: 'a', io: 'input', type: 'directory', hostPath: '/ws/a' },
      { name: 'b', io: 'input', type: 'file', hostPath: '/ws/b.txt' },
      { name: 'c', io: 'input', type: 'directory', hostPath: '/ws/c', opts: 'ro' },
      { name: 'o', io: 'output', type: 'directory', hostPath: '/ws/o' },
    ]);
  });

  const failures: [string, Record<string, unknown>, Record<string, PathKind>, RegExp][] = [
    ['unknown output type', { outputs: { o: { default: 'o', type: 'unknown' } } }, {}, /type of output "o" is unknown/],
    ['missing input', { inputs: { i: { default: 'i', type: 'directory' } } }, {}, /input \/ws\/i does not exist/],
    ['missing input of unknown type', { inputs: { i: { default: 'i', type: 'unknown' } } }, {}, /has type unknown and does not exist/],
    ['directory param on a file', { outputs: { o: { default: 'o', type: 'directory' } } }, { '/ws/o': 'file' }, /existing file but the parameter is a directory/],
    ['file param on a directory', { inputs: { i: { default: 'i', type: 'file' } } }, { '/ws/i': 'directory' }, /existing directory but the parameter is a file/],
    ['output file under a file', { outputs: { o: { default: 'f/o.txt', type: 'file' } } }, { '/ws/f': 'file' }, /directory of output file \/ws\/f\/o.txt is an existing file/],
    ['symlink loop', { inputs: { i: { default: 'loop/x', type: 'file' } } }, { '/ws/loop/x': 'loop' }, /symbolic link loop/],
    ['a bad type', { inputs: { i: { default: 'i', type: 'folder' } } }, {}, /type "folder" is not one of/],
    ['a bad opts', { inputs: { i: { default: 'i', type: 'directory', opts: 'rx' } } }, { '/ws/i': 'directory' }, /opts "rx" is not ro or rw/],
  ];
  for (const [what, params, fs, re] of failures) {
    it(`rejects: ${what}`, () => expect(() => resolveTask(cube({ t: { parameters: params } }), 't', ctx(fs))).to.throw(ParameterError, re));
  }

  it('names the producing task of a missing input', () => {
    const cfg = cube({ make: { parameters: { outputs: { d: { default: 'd/', type: 'directory' } } } }, use: { parameters: { inputs: { d: { default: 'd/x.bin', type: 'file' } } } } });
    try {
      resolveTask(cfg, 'use', ctx({}));
      expect.fail('should throw');
    } catch (e) {
      expect(e).to.be.instanceOf(ParameterError);
      expect((e as ParameterError).render()).to.match(/input \/ws\/d\/x.bin does not exist\n  fix: It is an output of task "make": run it first, e.g. mlcube run --task=make,use/);
    }
  });

  it('accepts a missing input that an earlier task of the same run produces', () => {
    const cfg = cube({ use: { parameters: { inputs: { d: { default: 'd/x.bin', type: 'unknown' } } } } });
    expect(resolveTask(cfg, 'use', ctx({}, new Map([['/ws/d', 'make']]))).params[0].hostPath).to.equal('/ws/d/x.bin');
  });

  it('treats the literal "null" default of FeTS cubes as an optional input', () => {
    const cfg = cube({ t: { parameters: { inputs: { ckpt: { default: 'null', type: 'file' } } } } });
    expect(resolveTask(cfg, 't', ctx({})).params[0].hostPath).to.equal('/ws/null');
  });

  it('selects tasks: the only task by default, unknown names and ambiguity are errors', () => {
    expect(selectTasks(cube({ only: {} }), undefined)).to.deep.equal(['only']);
    expect(selectTasks(cube({ a: {}, b: {} }), 'b,a')).to.deep.equal(['b', 'a']);
    expect(() => selectTasks(cube({ a: {}, b: {} }), '')).to.throw(UsageError, /no --task given and the cube has 2 tasks \(a, b\)/);
    expect(() => selectTasks(cube({ a: {} }), 'c')).to.throw(UsageError, /unknown task "c" \(the cube has: a\)/);
  });
});
