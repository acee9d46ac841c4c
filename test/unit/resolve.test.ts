import { expect } from 'chai';
import { paramKey, resolveTask, selectTasks } from '../../src/params/resolve.js';
import { hostPath } from '../../src/params/paths.js';
import type { FsProbe, PathKind } from '../../src/params/fs-probe.js';
import { ParameterError, UsageError } from '../../src/errors.js';

/** `links`: path -> what it resolves to (a symbolic link there), applied to any path under it. */
const fakeFs = (entries: Record<string, PathKind>, links: Record<string, string> = {}): FsProbe => ({
  kind: (p) => entries[p] ?? 'missing',
  realTarget: (p) => {
    const from = Object.keys(links)
      .filter((l) => p === l || p.startsWith(`${l}/`))
      .sort((a, b) => b.length - a.length)[0];
    return from === undefined ? p : links[from] + p.slice(from.length);
  },
});
const ctx = (entries: Record<string, PathKind>, pending?: Map<string, string>, o: { links?: Record<string, string>; explicit?: string[] } = {}) => ({
  workspace: '/ws',
  env: { DATA: '/data' },
  home: '/home/u',
  fs: fakeFs(entries, o.links),
  pending,
  explicit: new Set((o.explicit ?? []).map((n) => paramKey('t', 'output', n))),
});

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
      t: {
        parameters: {
          inputs: { a: { default: 'a', type: 'unknown' }, b: { default: 'b.txt', type: 'unknown' }, c: { default: 'c', type: 'directory', opts: 'ro' } },
          outputs: { o: { default: 'o/', type: 'directory' } },
        },
      },
    });
    const r = resolveTask(cfg, 't', ctx({ '/ws/a': 'directory', '/ws/b.txt': 'file', '/ws/c': 'directory', '/ws': 'directory' }));
    expect(r.params).to.deep.equal([
      { name: 'a', io: 'input', type: 'directory', hostPath: '/ws/a', realPath: '/ws/a', realDir: '/ws/a' },
      { name: 'b', io: 'input', type: 'file', hostPath: '/ws/b.txt', realPath: '/ws/b.txt', realDir: '/ws' },
      { name: 'c', io: 'input', type: 'directory', hostPath: '/ws/c', realPath: '/ws/c', realDir: '/ws/c', opts: 'ro' },
      { name: 'o', io: 'output', type: 'directory', hostPath: '/ws/o', realPath: '/ws/o', realDir: '/ws/o', missing: true },
    ]);
    expect(r.isolation).to.include({ workspace: '/ws', records: '/ws/.mlcube', home: '/home/u' });
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
      expect((e as ParameterError).render()).to.match(/input \/ws\/d\/x.bin does not exist\n {2}fix: It is an output of task "make": run it first, e.g. mlcube run --task=make,use/);
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

  describe('where outputs may be written', () => {
    const out = (o: string, type = 'file') => cube({ t: { parameters: { outputs: { o: { default: o, type } } } } });
    const refused: [string, string, string, { links?: Record<string, string>; explicit?: boolean }, RegExp][] = [
      ['/etc/passwd, even named on the command line', '/etc/passwd', 'file', { explicit: true }, /output \/etc\/passwd resolves to \/etc\/passwd, which is under \/etc, a system directory/],
      ['/ (a directory output at the root)', '/', 'directory', { explicit: true }, /output \/ resolves to \/, which is the root directory/],
      ['/usr itself', '/usr', 'directory', { explicit: true }, /which is \/usr, a system directory/],
      ['under /lib64', '/lib64/x.so', 'file', { explicit: true }, /under \/lib64, a system directory/],
      ['under /var (not /var/tmp)', '/var/lib/x', 'directory', { explicit: true }, /under \/var, a system directory/],
      ['/dev/shm', '/dev/shm/x', 'file', { explicit: true }, /under \/dev, a system directory/],
      ['/proc, /sys, /run, /boot, /bin, /sbin', '/run/x', 'file', { explicit: true }, /under \/run/],
      ['the home directory itself', '~', 'directory', { explicit: true }, /resolves to \/home\/u, which is your home directory itself/],
      ['a directory holding the home', '/home', 'directory', { explicit: true }, /which contains your home directory \/home\/u/],
      ['~/.ssh/authorized_keys', '~/.ssh/authorized_keys', 'file', { explicit: true }, /which is inside \/home\/u\/\.ssh \(your SSH keys\)/],
      ['~/.mlcube', '~/.mlcube/', 'directory', { explicit: true }, /which is \/home\/u\/\.mlcube \(your mlcube keys and settings\)/],
      ['through .. out of the workspace into /etc', '../../etc/cron.d/x', 'file', { explicit: true }, /output \.\.\/\.\.\/etc\/cron\.d\/x resolves to \/etc\/cron\.d\/x/],
      ['through a symbolic link in the workspace to /etc', 'out/passwd', 'file', { links: { '/ws/out': '/etc' } }, /output out\/passwd resolves to \/etc\/passwd, which is under \/etc/],
      ['through a dangling link (its target would be created)', 'out/x', 'file', { links: { '/ws/out/x': '/usr/local/bin/x' } }, /resolves to \/usr\/local\/bin\/x, which is under \/usr/],
      [
        'outside the workspace from the cube file',
        '/tmp/elsewhere/r.txt',
        'file',
        {},
        /output \/tmp\/elsewhere\/r\.txt is \/tmp\/elsewhere\/r\.txt, outside the workspace \/ws, and comes from the cube file/,
      ],
      ['outside through .. from the cube file', '../sibling/', 'directory', {}, /is \/sibling, outside the workspace \/ws/],
      ['$VAR expanded outside from the cube file', '$DATA/out/', 'directory', {}, /output \$DATA\/out\/ is \/data\/out, outside the workspace/],
      [
        "inside the workspace's .mlcube",
        '.mlcube/runs/x/record.json',
        'file',
        { explicit: true },
        /\/ws\/\.mlcube\/runs\/x\/record\.json is inside the workspace's \.mlcube, where mlcube keeps its run records/,
      ],
      ['the .mlcube itself', '.mlcube/', 'directory', {}, /\/ws\/\.mlcube is inside the workspace's \.mlcube/],
    ];
    for (const [name, value, type, o, re] of refused) {
      it(`refuses ${name}`, () => {
        const c = ctx({ '/ws': 'directory', '/': 'directory', '/home/u': 'directory' }, undefined, { links: o.links, explicit: o.explicit ? ['o'] : [] });
        try {
          resolveTask(out(value, type), 't', c);
          expect.fail('should throw');
        } catch (e) {
          expect(e).to.be.instanceOf(ParameterError);
          const text = (e as ParameterError).render();
          expect(text).to.match(re);
          expect(text).to.contain('task "t", parameter "o"');
          expect(text).to.match(/\n {2}fix: /);
        }
      });
    }
    const fix = (value: string, explicit: boolean) => {
      try {
        resolveTask(out(value), 't', ctx({}, undefined, { explicit: explicit ? ['o'] : [] }));
      } catch (e) {
        return (e as ParameterError).suggestions.join();
      }
      return '';
    };
    it('the fixes: name it on the command line (outside), or write it in the workspace (system directory)', () => {
      expect(fix('/tmp/r.txt', false)).to.contain('say so on the command line: o=/tmp/r.txt (or -Ptasks.t.parameters.outputs.o.default=/tmp/r.txt)');
      expect(fix('/etc/passwd', true)).to.contain('Write it inside the workspace (e.g. o=o/passwd)');
    });
    const allowed: [string, string, { links?: Record<string, string>; explicit?: boolean }, string | undefined, string][] = [
      ['inside the workspace', 'r/x.txt', {}, undefined, '/ws/r/x.txt'],
      ['outside, named on the command line', '/tmp/out/x.txt', { explicit: true }, 'explicit', '/tmp/out/x.txt'],
      ['/var/tmp, named on the command line', '/var/tmp/x.txt', { explicit: true }, 'explicit', '/var/tmp/x.txt'],
      ['elsewhere in the home, named on the command line', '~/results/x.txt', { explicit: true }, 'explicit', '/home/u/results/x.txt'],
      ['inside the workspace through a link that leads out (noted)', 'big/x.txt', { links: { '/ws/big': '/scratch/big' } }, 'link', '/scratch/big/x.txt'],
    ];
    for (const [name, value, o, outside, real] of allowed) {
      it(`allows ${name}`, () => {
        const p = resolveTask(out(value), 't', ctx({}, undefined, { links: o.links, explicit: o.explicit ? ['o'] : [] })).params[0];
        expect(p.outside).to.equal(outside);
        expect(p.realPath).to.equal(real);
      });
    }
    it('inputs may lie outside the workspace (from the cube file too), but not in its .mlcube', () => {
      const inp = (v: string) => cube({ t: { parameters: { inputs: { i: { default: v, type: 'file' } } } } });
      expect(resolveTask(inp('/etc/hosts'), 't', ctx({ '/etc/hosts': 'file' })).params[0].hostPath).to.equal('/etc/hosts');
      expect(() => resolveTask(inp('.mlcube/runs/producers.jsonl'), 't', ctx({ '/ws/.mlcube/runs/producers.jsonl': 'file' }))).to.throw(ParameterError, /inside the workspace's \.mlcube/);
    });
  });

  it('selects tasks: every task by default, each named task once, unknown names are errors', () => {
    expect(selectTasks(cube({ only: {} }), undefined)).to.deep.equal(['only']);
    expect(selectTasks(cube({ a: {}, b: {} }), 'b,a')).to.deep.equal(['b', 'a']);
    expect(selectTasks(cube({ a: {}, b: {} }), 'b, a,b')).to.deep.equal(['b', 'a']);
    expect(selectTasks(cube({ a: {}, b: {} }), '')).to.deep.equal(['a', 'b']);
    expect(selectTasks(cube({ a: {}, b: {} }), undefined)).to.deep.equal(['a', 'b']);
    expect(() => selectTasks(cube({ a: {} }), 'c')).to.throw(UsageError, /unknown task "c" \(the cube has: a\)/);
  });
});
