import { expect } from 'chai';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mlcube } from '../helpers/cli.js';
import { latestRecords } from '../helpers/graph.js';
import { mnistWorkspace, QUICK_GATES } from '../helpers/mnist.js';

// Issue 19's "Must show" on the MNIST cube (quick configuration, so that it trains in seconds).
describe('MNIST cube and the task cache (README "Task cache")', function () {
  this.timeout(900_000);

  it('a second run restores nothing and runs nothing; an edited train config reruns train and evaluate, not download; a deleted model comes back from the store without training; --no-cache runs all', async () => {
    const ws = mnistWorkspace('mlcube-mnist-cache-');
    try {
      const args = ['run', '--mlcube=cubes/mnist', '--platform=local', '--task=download,train,evaluate', `--workspace=${ws.dir}`, '--log-level=info', 'train_config=train-quick.yaml', ...QUICK_GATES];
      const decisions = () => {
        const latest = latestRecords(ws.dir);
        return Object.fromEntries(['download', 'train', 'evaluate'].map((t) => [t, latest[t].cache.decision]));
      };
      const first = await mlcube(args);
      expect(first.exitCode, first.stderr).to.equal(0);
      expect(decisions()).to.deep.equal({ download: 'miss', train: 'miss', evaluate: 'miss' });
      const model = latestRecords(ws.dir).train.parameters.find((p: any) => p.name === 'model_dir').digest.sha256;

      const second = await mlcube(args);
      expect(second.exitCode, second.stderr).to.equal(0);
      expect(decisions()).to.deep.equal({ download: 'hit', train: 'hit', evaluate: 'hit' });
      expect(second.stderr, 'no training output').to.not.contain('[mnist train]');

      const cfg = join(ws.dir, 'train-quick.yaml');
      writeFileSync(cfg, readFileSync(cfg, 'utf8').replace(/seed: \d+/, 'seed: 7'));
      const edited = await mlcube(args);
      expect(edited.exitCode, edited.stderr).to.equal(0);
      expect(decisions()).to.deep.equal({ download: 'hit', train: 'miss', evaluate: 'miss' });
      expect(edited.stderr).to.match(/task "train": runs: input train_config \(sha256 [0-9a-f]{12} then, [0-9a-f]{12} now\) changed since run \S+-train-/);
      expect(edited.stderr).to.match(/task "evaluate": runs: input model_dir \(sha256 [0-9a-f]{12} then, [0-9a-f]{12} now\) changed since run \S+-evaluate-/);
      const reseeded = latestRecords(ws.dir).train;
      const reseededModel = reseeded.parameters.find((p: any) => p.name === 'model_dir').digest.sha256;
      expect(reseededModel, 'another seed, another model').to.not.equal(model);

      rmSync(join(ws.dir, 'model'), { recursive: true });
      const restored = await mlcube(args);
      expect(restored.exitCode, restored.stderr).to.equal(0);
      expect(restored.stderr, 'no training output').to.not.contain('[mnist train]');
      expect(decisions()).to.deep.equal({ download: 'hit', train: 'hit', evaluate: 'hit' });
      const back = latestRecords(ws.dir).train;
      expect(back.cache.of).to.equal(reseeded.run_id);
      expect(back.cache.restored.length).to.be.greaterThan(1);
      expect(back.parameters.find((p: any) => p.name === 'model_dir').digest.sha256, 'the same model, bit for bit').to.equal(reseededModel);

      const all = await mlcube([...args, '--no-cache']);
      expect(all.exitCode, all.stderr).to.equal(0);
      expect(decisions()).to.deep.equal({ download: 'miss', train: 'miss', evaluate: 'miss' });
      expect(all.stderr).to.contain('[mnist train]');
    } finally {
      ws.cleanup();
    }
  });
});
