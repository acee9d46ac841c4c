import { expect } from 'chai';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mlcube, readJson, REPO, tempDir } from '../helpers/cli.js';

// The README's example (MNIST cube, "Differential privacy"): a release gate on the dp_epsilon metric of train. The
// cube's own mlcube.yaml declares no such gate, so this copy of its cube file adds one; code and packages are linked.
describe('MNIST cube: a release gate on the dp_epsilon that DP training reports (README)', function () {
  this.timeout(600_000);

  it('passes under the threshold, fails with exit 7 naming the metric over it', async () => {
    const t = tempDir('mlcube-mnist-dp-');
    try {
      const src = join(REPO, 'cubes', 'mnist');
      const cube = readFileSync(join(src, 'mlcube.yaml'), 'utf8');
      const anchor = '        model_dir: {type: directory, default: model}\n        log_dir: {type: directory, default: logs}\n  evaluate:';
      expect(cube).to.contain(anchor);
      writeFileSync(join(t.dir, 'mlcube.yaml'), cube.replace(anchor, anchor.replace('  evaluate:', '    gates:\n      dp_epsilon: {metric: dp_epsilon, max: 8}\n  evaluate:')));
      for (const d of ['dist', 'node_modules', 'package.json']) symlinkSync(join(src, d), join(t.dir, d));
      const ws = join(t.dir, 'workspace');
      mkdirSync(ws);
      for (const f of ['data.yaml', 'mnist-offline.npz']) copyFileSync(join(src, 'workspace', f), join(ws, f));
      // 850 training digits, 2 epochs: seconds. q = 0.1, 20 steps, sigma 1.1, delta 1e-5: eps 3.51.
      writeFileSync(
        join(ws, 'train-dp.yaml'),
        'model: mlp\noptimizer: sgd\nlearning_rate: 0.5\ntrain_epochs: 2\nbatch_size: 85\nvalidation_split: 0.9\nseed: 1\nworkers: 1\nprivacy: {l2_norm_clip: 1, noise_multiplier: 1.1}\n',
      );
      const args = ['run', `--mlcube=${t.dir}`, '--platform=local', '--task=download,train', 'train_config=train-dp.yaml'];
      const ok = await mlcube(args);
      expect(ok.exitCode, ok.stderr).to.equal(0);
      expect(ok.stderr).to.match(/task "train": release gates passed: dp_epsilon \(metric dp_epsilon = 3\.5\d* <= 8\)/);
      const runs = join(ws, '.mlcube', 'runs');
      const train = readdirSync(runs).find((d) => d.includes('-train-'))!;
      const rec = readJson(join(runs, train, 'record.json'));
      expect(rec.gates.results[0]).to.deep.include({ name: 'dp_epsilon', kind: 'metric', outcome: 'passed', threshold: 8 });
      const strict = await mlcube([...args.slice(0, 3), '--task=train', 'train_config=train-dp.yaml', '-Ptasks.train.gates.dp_epsilon.max=1']);
      expect(strict.exitCode, strict.stderr).to.equal(7);
      expect(strict.stderr).to.match(/FAILED dp_epsilon: metric dp_epsilon = 3\.5\d*, not <= 1/);
    } finally {
      t.cleanup();
    }
  });
});
