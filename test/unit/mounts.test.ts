import { expect } from 'chai';
import { planMounts } from '../../src/params/mounts.js';
import type { ResolvedParam } from '../../src/params/resolve.js';

const P = (name: string, io: 'input' | 'output', type: 'file' | 'directory', hostPath: string, opts?: 'ro' | 'rw'): ResolvedParam => ({ name, io, type, hostPath, ...(opts ? { opts } : {}) });

describe('mount plan (/mlcube_io<k> contract, Python test_shell cases)', () => {
  it('task process: one mount per directory, args in order, option only where set', () => {
    const plan = planMounts([P('input_dir', 'input', 'directory', '/mlcube/workspace/input'), P('output_dir', 'output', 'directory', '/mlcube/workspace/output', 'rw')]);
    expect(plan.mounts).to.deep.equal([
      { host: '/mlcube/workspace/input', container: '/mlcube_io0' },
      { host: '/mlcube/workspace/output', container: '/mlcube_io1', opts: 'rw' },
    ]);
    expect(plan.args).to.deep.equal(['--input_dir=/mlcube_io0', '--output_dir=/mlcube_io1']);
  });

  it('task split: a file mounts its parent; absolute paths are used as they are', () => {
    const plan = planMounts([
      P('input_dir', 'input', 'directory', '/mlcube/workspace/input'),
      P('config', 'input', 'file', '/mlcube/workspace/config.yaml', 'ro'),
      P('output_dir', 'output', 'directory', '/datasets/my_split', 'rw'),
    ]);
    expect(plan.mounts.map((m) => [m.host, m.container, m.opts])).to.deep.equal([
      ['/mlcube/workspace/input', '/mlcube_io0', undefined],
      ['/mlcube/workspace', '/mlcube_io1', 'ro'],
      ['/datasets/my_split', '/mlcube_io2', 'rw'],
    ]);
    expect(plan.args).to.deep.equal(['--input_dir=/mlcube_io0', '--config=/mlcube_io1/config.yaml', '--output_dir=/mlcube_io2']);
  });

  it('--mount=ro forces every input read-only; outputs keep their own option', () => {
    const plan = planMounts([P('input_dir', 'input', 'directory', '/w/input'), P('output_dir', 'output', 'directory', '/w/output', 'rw')], 'ro');
    expect(plan.mounts.map((m) => m.opts)).to.deep.equal(['ro', 'rw']);
  });

  it('reuses the mount of a directory already mounted (file under an input dir)', () => {
    const plan = planMounts([P('in_dir', 'input', 'directory', '/w/input', 'ro'), P('cfg', 'input', 'file', '/w/input/cfg.yaml')]);
    expect(plan.mounts).to.have.length(1);
    expect(plan.args).to.deep.equal(['--in_dir=/mlcube_io0', '--cfg=/mlcube_io0/cfg.yaml']);
  });

  it('conflicting options on a shared directory: warning and rw', () => {
    const plan = planMounts([P('a', 'input', 'directory', '/w/model', 'ro'), P('b', 'output', 'directory', '/w/model', 'rw')]);
    expect(plan.mounts[0].opts).to.equal('rw');
    expect(plan.warnings.join()).to.contain('different mount options');
  });

  it('read-only output: warning', () => {
    expect(planMounts([P('o', 'output', 'directory', '/w/o', 'ro')]).warnings.join()).to.contain('read-only');
  });
});
