import { expect } from 'chai';
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mlcube, readJson, REPO, tempDir } from '../helpers/cli.js';

const recordsOf = (ws: string): any[] =>
  readdirSync(join(ws, '.mlcube', 'runs'))
    .filter((id) => existsSync(join(ws, '.mlcube', 'runs', id, 'record.json')))
    .map((id) => readJson(join(ws, '.mlcube', 'runs', id, 'record.json')));

const QUICK_GATES = ['-Ptasks.evaluate.gates.test_accuracy.min=0.85', '-Ptasks.evaluate.gates.min_class_accuracy.min=0.7'];

// Issue 19's "Must show" on the MNIST cube (quick configuration, so that it trains in seconds).
describe('MNIST cube and the task cache (README "Task cache")', function () {
  this.timeout(900_000);

  it('a second run restores nothing and runs nothing; an edited train config reruns train and evaluate, not download; a deleted model comes back from the store without training; --no-cache runs all', async () => {
    const ws = tempDir('mlcube-mnist-cache-');
    try {
      for (const f of ['data.yaml', 'mnist-offline.npz', 'train-quick.yaml']) copyFileSync(join(REPO, 'cubes', 'mnist', 'workspace', f), join(ws.dir, f));
      const args = ['run', '--mlcube=cubes/mnist', '--platform=local', '--task=download,train,evaluate', `--workspace=${ws.dir}`, '--log-level=info', 'train_config=train-quick.yaml', ...QUICK_GATES];
      const decisions = () => {
        const latest = new Map<string, any>();
        for (const r of recordsOf(ws.dir)) if (!latest.has(r.task) || latest.get(r.task).started_at <= r.started_at) latest.set(r.task, r);
        return Object.fromEntries(['download', 'train', 'evaluate'].map((t) => [t, latest.get(t).cache.decision]));
      };
      const first = await mlcube(args);
      expect(first.exitCode, first.stderr).to.equal(0);
      expect(decisions()).to.deep.equal({ download: 'miss', train: 'miss', evaluate: 'miss' });
      const model = recordsOf(ws.dir)
        .find((r) => r.task === 'train')!
        .parameters.find((p: any) => p.name === 'model_dir').digest.sha256;

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
      const reseeded = recordsOf(ws.dir)
        .filter((r) => r.task === 'train')
        .sort((a, b) => (a.started_at < b.started_at ? -1 : 1))
        .pop()!;
      const reseededModel = reseeded.parameters.find((p: any) => p.name === 'model_dir').digest.sha256;
      expect(reseededModel, 'another seed, another model').to.not.equal(model);

      rmSync(join(ws.dir, 'model'), { recursive: true });
      const restored = await mlcube(args);
      expect(restored.exitCode, restored.stderr).to.equal(0);
      expect(restored.stderr, 'no training output').to.not.contain('[mnist train]');
      expect(decisions()).to.deep.equal({ download: 'hit', train: 'hit', evaluate: 'hit' });
      const back = recordsOf(ws.dir)
        .filter((r) => r.task === 'train')
        .sort((a, b) => (a.started_at < b.started_at ? -1 : 1))
        .pop()!;
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
