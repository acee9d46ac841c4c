import { expect } from 'chai';
import { copyFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mlcube, REPO, tempDir } from '../helpers/cli.js';

// The README's quick training run: a second training config in the cube's workspace, picked with a task override.
describe('MNIST cube: a quick training run with train_config=train-quick.yaml (README)', function () {
  this.timeout(600_000);

  it('download -> train -> evaluate with the quick config: one epoch of the MLP, a usable model', async () => {
    const ws = tempDir('mlcube-mnist-quick-');
    try {
      for (const f of ['data.yaml', 'mnist-offline.npz', 'train.yaml', 'train-quick.yaml']) copyFileSync(join(REPO, 'cubes', 'mnist', 'workspace', f), join(ws.dir, f));
      const r = await mlcube(['run', '--mlcube=cubes/mnist', '--platform=local', '--task=download,train,evaluate', `--workspace=${ws.dir}`, 'train_config=train-quick.yaml'], {
        env: { MLCUBE_RECORD: 'off' },
      });
      expect(r.exitCode, r.stderr).to.equal(0);
      const log = readdirSync(join(ws.dir, 'logs'))
        .map((f) => readFileSync(join(ws.dir, 'logs', f), 'utf8'))
        .join('\n');
      expect(log, 'the quick config was used').to.match(/mlp/);
      const metrics = JSON.parse(readFileSync(join(ws.dir, 'metrics', 'metrics.json'), 'utf8'));
      expect(metrics.accuracy, JSON.stringify(metrics).slice(0, 200)).to.be.within(0.85, 1);
    } finally {
      ws.cleanup();
    }
  });
});
