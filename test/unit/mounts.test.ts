import { expect } from 'chai';
import { planMounts, type MountPlan } from '../../src/params/mounts.js';
import type { ResolvedParam } from '../../src/params/resolve.js';
import { ParameterError } from '../../src/errors.js';
import { isolation, param } from '../helpers/tasks.js';

type Opts = Partial<Pick<ResolvedParam, 'opts' | 'missing' | 'realPath' | 'realDir'>>;
const P = (name: string, io: 'input' | 'output', type: 'file' | 'directory', hostPath: string, opts?: 'ro' | 'rw' | Opts): ResolvedParam =>
  param({ name, io, type, hostPath, ...(typeof opts === 'string' ? { opts } : (opts ?? {})) });
const plan = (params: ResolvedParam[], o: { ws?: string; home?: string; env?: Record<string, string>; mode?: 'ro' | 'rw' } = {}) =>
  planMounts({ name: 't', params, isolation: isolation(o.ws ?? '/w', o.home ?? '/home/u', o.env ?? {}) }, o.mode);
/** A mount as a line: host:container[:opts] (kind). */
const lines = (p: MountPlan) => p.mounts.map((m) => `${m.host}:${m.container}${m.opts ? `:${m.opts}` : ''} (${m.kind})`);

describe('mount plan (/mlcube_io<k> contract, isolation)', () => {
  describe('numbering and options (Python test_shell cases, with input files bound by themselves)', () => {
    const cases: [string, ResolvedParam[], { ws?: string; mode?: 'ro' | 'rw' }, string[], string[]][] = [
      [
        'task process: one mount per directory, args in order, option only where set',
        [P('input_dir', 'input', 'directory', '/mlcube/workspace/input'), P('output_dir', 'output', 'directory', '/mlcube/workspace/output', 'rw')],
        { ws: '/mlcube/workspace' },
        ['/mlcube/workspace/input:/mlcube_io0 (directory)', '/mlcube/workspace/output:/mlcube_io1:rw (directory)'],
        ['--input_dir=/mlcube_io0', '--output_dir=/mlcube_io1'],
      ],
      [
        'task split: an input file keeps the number of its directory but is bound by itself; absolute paths as they are',
        [
          P('input_dir', 'input', 'directory', '/mlcube/workspace/input'),
          P('config', 'input', 'file', '/mlcube/workspace/config.yaml', 'ro'),
          P('output_dir', 'output', 'directory', '/datasets/my_split', 'rw'),
        ],
        { ws: '/mlcube/workspace' },
        ['/mlcube/workspace/input:/mlcube_io0 (directory)', '/datasets/my_split:/mlcube_io2:rw (directory)', '/mlcube/workspace/config.yaml:/mlcube_io1/config.yaml:ro (file)'],
        ['--input_dir=/mlcube_io0', '--config=/mlcube_io1/config.yaml', '--output_dir=/mlcube_io2'],
      ],
      ['an input file is read-only by default', [P('cfg', 'input', 'file', '/w/cfg.yaml')], {}, ['/w/cfg.yaml:/mlcube_io0/cfg.yaml:ro (file)'], ['--cfg=/mlcube_io0/cfg.yaml']],
      ['opts: rw on an input file', [P('cfg', 'input', 'file', '/w/cfg.yaml', 'rw')], {}, ['/w/cfg.yaml:/mlcube_io0/cfg.yaml:rw (file)'], ['--cfg=/mlcube_io0/cfg.yaml']],
      [
        '--mount=rw makes input files (and directories) rw; outputs keep their own',
        [P('in', 'input', 'directory', '/w/in', 'ro'), P('cfg', 'input', 'file', '/w/cfg.yaml', 'ro'), P('out', 'output', 'directory', '/w/out')],
        { mode: 'rw' },
        ['/w/in:/mlcube_io0:rw (directory)', '/w/out:/mlcube_io2 (directory)', '/w/cfg.yaml:/mlcube_io1/cfg.yaml:rw (file)'],
        ['--in=/mlcube_io0', '--cfg=/mlcube_io1/cfg.yaml', '--out=/mlcube_io2'],
      ],
      [
        '--mount=ro forces every input read-only; outputs keep their own option',
        [P('input_dir', 'input', 'directory', '/w/input'), P('output_dir', 'output', 'directory', '/w/output', 'rw')],
        { mode: 'ro' },
        ['/w/input:/mlcube_io0:ro (directory)', '/w/output:/mlcube_io1:rw (directory)'],
        ['--input_dir=/mlcube_io0', '--output_dir=/mlcube_io1'],
      ],
      [
        'a file under an input directory of the same options is seen through it, not bound again',
        [P('in_dir', 'input', 'directory', '/w/input', 'ro'), P('cfg', 'input', 'file', '/w/input/cfg.yaml')],
        {},
        ['/w/input:/mlcube_io0:ro (directory)'],
        ['--in_dir=/mlcube_io0', '--cfg=/mlcube_io0/cfg.yaml'],
      ],
      [
        'a read-only file under a writable directory is bound read-only on top of it',
        [P('in_dir', 'input', 'directory', '/w/input'), P('cfg', 'input', 'file', '/w/input/cfg.yaml')],
        {},
        ['/w/input:/mlcube_io0 (directory)', '/w/input/cfg.yaml:/mlcube_io0/cfg.yaml:ro (file)'],
        ['--in_dir=/mlcube_io0', '--cfg=/mlcube_io0/cfg.yaml'],
      ],
      [
        'a missing (optional) input file is bound as nothing: absent in the container too, its directory not shown',
        [P('ckpt', 'input', 'file', '/w/null', { missing: true })],
        {},
        [],
        ['--ckpt=/mlcube_io0/null'],
      ],
    ];
    for (const [name, params, o, mounts, args] of cases) {
      it(name, () => {
        const p = plan(params, o);
        expect(lines(p)).to.deep.equal(mounts);
        expect(p.args).to.deep.equal(args);
        expect(p.covers).to.deep.equal([]);
      });
    }

    it('conflicting options on a shared directory: warning and rw', () => {
      const p = plan([P('a', 'input', 'directory', '/w/model', 'ro'), P('b', 'output', 'directory', '/w/model', 'rw')]);
      expect(p.mounts[0].opts).to.equal('rw');
      expect(p.warnings.join()).to.contain('different mount options');
    });

    it('read-only output: warning', () => {
      expect(plan([P('o', 'output', 'directory', '/w/o', 'ro')]).warnings.join()).to.contain('read-only');
    });

    it("an input file's default read-only is marked implicit (runtimes that cannot enforce it need not warn); an asked-for one is not", () => {
      expect(plan([P('cfg', 'input', 'file', '/w/cfg.yaml')]).mounts[0].implicit).to.equal(true);
      expect(plan([P('cfg', 'input', 'file', '/w/cfg.yaml', 'ro')]).mounts[0].implicit).to.equal(undefined);
      expect(plan([P('cfg', 'input', 'file', '/w/cfg.yaml')], { mode: 'ro' }).mounts[0].implicit).to.equal(undefined);
    });
  });

  describe("the workspace's .mlcube is covered wherever a mount shows it", () => {
    const cases: [string, ResolvedParam[], string, string[], string[]][] = [
      ['an output file at the workspace root', [P('summary', 'output', 'file', '/w/summary.txt')], '/w', ['/w:/mlcube_io0 (directory)'], ['/mlcube_io0/.mlcube']],
      ['an output directory that is the workspace', [P('out', 'output', 'directory', '/w')], '/w', ['/w:/mlcube_io0 (directory)'], ['/mlcube_io0/.mlcube']],
      [
        'an output directory above it: each directory on the way is pinned (bound onto itself), so it cannot be renamed away',
        [P('out', 'output', 'directory', '/tmp/x')],
        '/tmp/x/a/ws',
        ['/tmp/x:/mlcube_io0 (directory)', '/tmp/x/a:/mlcube_io0/a (pin)', '/tmp/x/a/ws:/mlcube_io0/a/ws (pin)'],
        ['/mlcube_io0/a/ws/.mlcube'],
      ],
      [
        'an input directory holding the workspace (the cube root): pinned with its options, covered',
        [P('code', 'input', 'directory', '/cube', 'ro'), P('out', 'output', 'directory', '/cube/workspace/out')],
        '/cube/workspace',
        ['/cube:/mlcube_io0:ro (directory)', '/cube/workspace/out:/mlcube_io1 (directory)', '/cube/workspace:/mlcube_io0/workspace:ro (pin)'],
        ['/mlcube_io0/workspace/.mlcube'],
      ],
      [
        'by real paths: an output directory that is a link to the workspace',
        [P('out', 'output', 'directory', '/data/out', { realPath: '/w', realDir: '/w' })],
        '/w',
        ['/data/out:/mlcube_io0 (directory)'],
        ['/mlcube_io0/.mlcube'],
      ],
    ];
    for (const [name, params, ws, mounts, covers] of cases) {
      it(name, () => {
        const p = plan(params, { ws });
        expect(lines(p)).to.deep.equal(mounts);
        expect(p.covers.map((c) => c.container)).to.deep.equal(covers);
        for (const c of p.covers) expect(c.host).to.equal(`${ws}/.mlcube`);
      });
    }

    it('two mounts showing it: one cover each; an input file at the root beside it is bound read-only on top', () => {
      const p = plan([P('cfg', 'input', 'file', '/w/cfg.yaml'), P('a', 'output', 'file', '/w/a.txt'), P('up', 'output', 'directory', '/p')], { ws: '/p/w' });
      expect(lines(p)).to.deep.equal(['/w:/mlcube_io0 (directory)', '/p:/mlcube_io1 (directory)', '/p/w:/mlcube_io1/w (pin)', '/w/cfg.yaml:/mlcube_io0/cfg.yaml:ro (file)']);
      expect(p.covers).to.deep.equal([{ container: '/mlcube_io1/w/.mlcube', host: '/p/w/.mlcube', parameter: 'up' }]);
      const q = plan([P('cfg', 'input', 'file', '/w/cfg.yaml'), P('a', 'output', 'file', '/w/a.txt'), P('up', 'output', 'directory', '/w')], { ws: '/w' });
      expect(q.covers.map((c) => [c.container, c.parameter])).to.deep.equal([['/mlcube_io0/.mlcube', 'a']]);
    });

    it('a signing key inside the records is hidden with them, not refused', () => {
      expect(plan([P('o', 'output', 'directory', '/w')], { env: { MLCUBE_SIGNING_KEY: '/w/.mlcube/k/signing.key' } }).covers).to.have.length(1);
    });
  });

  describe('refused: what a container is never shown', () => {
    const cases: [string, ResolvedParam[], Record<string, string>, RegExp][] = [
      [
        'the home directory as an input',
        [P('data', 'input', 'directory', '/home/u')],
        {},
        /parameter "data": the container would be given directory \/home\/u, but it is your home directory \(\/home\/u\), with your keys in it/,
      ],
      ['/ as an input', [P('data', 'input', 'directory', '/')], {}, /directory \/, but it contains your home directory \/home\/u/],
      ['/home (holds it)', [P('data', 'input', 'directory', '/home')], {}, /it contains your home directory/],
      ['~/.ssh as an input directory', [P('keys', 'input', 'directory', '/home/u/.ssh')], {}, /it is \/home\/u\/\.ssh \(your SSH keys\)/],
      ['a file in ~/.ssh', [P('key', 'input', 'file', '/home/u/.ssh/id_ed25519')], {}, /file \/home\/u\/\.ssh\/id_ed25519, but it is inside \/home\/u\/\.ssh/],
      ['a file in ~/.mlcube (the default signing key)', [P('key', 'input', 'file', '/home/u/.mlcube/keys/signing.key')], {}, /it is inside \/home\/u\/\.mlcube \(your mlcube keys and settings\)/],
      ['the signing key $MLCUBE_SIGNING_KEY names', [P('k', 'input', 'file', '/keys/signing.key')], { MLCUBE_SIGNING_KEY: '/keys/signing.key' }, /it is \/keys\/signing\.key \(the signing key\)/],
      ['a directory holding it', [P('d', 'input', 'directory', '/keys')], { MLCUBE_SIGNING_KEY: '/keys/signing.key' }, /it contains \/keys\/signing\.key \(the signing key\)/],
      [
        'by its real path: a link to ~/.ssh',
        [P('d', 'input', 'directory', '/w/ssh', { realPath: '/home/u/.ssh', realDir: '/home/u/.ssh' })],
        {},
        /directory \/w\/ssh \(\/home\/u\/\.ssh\), but it is \/home\/u\/\.ssh/,
      ],
      ['a directory inside the records', [P('r', 'input', 'directory', '/w/.mlcube/runs')], {}, /it is inside the workspace's \.mlcube \(run records\)/],
      ['a file inside the records', [P('r', 'input', 'file', '/w/.mlcube/runs/x/record.json')], {}, /it is inside the workspace's \.mlcube \(run records\)/],
    ];
    for (const [name, params, env, re] of cases) {
      it(name, () => {
        expect(() => plan(params, { env })).to.throw(ParameterError, re);
        try {
          plan(params, { env });
        } catch (e) {
          expect((e as ParameterError).suggestions.join()).to.match(/Point the parameter at a (directory|file) that holds only what the task needs/);
        }
      });
    }
  });
});
