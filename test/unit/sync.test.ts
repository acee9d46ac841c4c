import { expect } from 'chai';
import { planWorkspaceSync } from '../../src/params/sync.js';
import type { PathKind } from '../../src/params/fs-probe.js';

const fs = (entries: Record<string, PathKind>) => ({ kind: (p: string) => entries[p] ?? 'missing' });
const cfg = {
  tasks: {
    download: { parameters: { inputs: { data_config: { default: 'data.yaml', type: 'file' } }, outputs: { data_dir: { default: 'data', type: 'directory' } } } },
    train: { parameters: { inputs: { data_dir: { default: 'data', type: 'directory' }, cfg: { default: 'conf/train.yaml', type: 'file' }, abs: { default: '/abs/x', type: 'file' } }, outputs: {} } },
  },
};

describe('workspace sync for a custom --workspace (Python Shell.sync_workspace)', () => {
  it('copies inputs that exist in <root>/workspace and are missing in the target; never outputs or absolute paths', () => {
    const copies = planWorkspaceSync(
      cfg,
      ['download', 'train'],
      '/cube/workspace',
      '/ws',
      fs({ '/cube/workspace': 'directory', '/cube/workspace/data.yaml': 'file', '/cube/workspace/data': 'directory', '/cube/workspace/conf/train.yaml': 'file', '/abs/x': 'file' }),
    );
    expect(copies).to.deep.equal([
      { from: '/cube/workspace/data.yaml', to: '/ws/data.yaml' },
      { from: '/cube/workspace/conf/train.yaml', to: '/ws/conf/train.yaml' },
    ]);
  });

  it('leaves existing target files alone, and does nothing for the default workspace or without one', () => {
    const entries: Record<string, PathKind> = { '/cube/workspace': 'directory', '/cube/workspace/data.yaml': 'file', '/ws/data.yaml': 'file' };
    expect(planWorkspaceSync(cfg, ['download'], '/cube/workspace', '/ws', fs(entries))).to.deep.equal([]);
    expect(planWorkspaceSync(cfg, ['download'], '/cube/workspace', '/cube/workspace/', fs({ '/cube/workspace': 'directory', '/cube/workspace/data.yaml': 'file' }))).to.deep.equal([]);
    expect(planWorkspaceSync(cfg, ['download'], '/cube/workspace', '/ws', fs({}))).to.deep.equal([]);
  });

  it('only looks at the selected tasks', () => {
    const copies = planWorkspaceSync(cfg, ['train'], '/cube/workspace', '/ws', fs({ '/cube/workspace': 'directory', '/cube/workspace/data.yaml': 'file', '/cube/workspace/conf/train.yaml': 'file' }));
    expect(copies.map((c) => c.to)).to.deep.equal(['/ws/conf/train.yaml']);
  });
});
