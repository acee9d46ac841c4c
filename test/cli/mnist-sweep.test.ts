import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mlcube, readJson, REPO } from '../helpers/cli.js';
import { mnistWorkspace } from '../helpers/mnist.js';

/** The quick model misses the cube's accuracy gates (its file says so): lowered, as the README's quick command does. */
const QUICK_GATES = ['-Ptasks.evaluate.gates.test_accuracy.min=0.5', '-Ptasks.evaluate.gates.min_class_accuracy.min=0.2'];

// Issue 19's must-show: two learning rates x two architectures of the MNIST cube, one table.
describe('MNIST cube: a sweep over two learning rates and two architectures (README "Sweeps and experiments")', function () {
  this.timeout(600_000);

  it('gives four point runs of train and evaluate after one download, and one comparison table of their metrics', async () => {
    const ws = mnistWorkspace('mlcube-mnist-sweep-');
    try {
      const r = await mlcube([
        'run',
        '--mlcube=cubes/mnist',
        '--platform=local',
        '--task=download,train,evaluate',
        `--workspace=${ws.dir}`,
        'train_config=train-quick.yaml',
        ...QUICK_GATES,
        '--sweep=train-quick.yaml:learning_rate=0.001,0.003',
        '--sweep=train-quick.yaml:model=mlp,shallow_net',
        '--experiment=mnist-lr-arch',
        '--json',
      ]);
      expect(r.exitCode, r.stderr).to.equal(0);
      const doc = JSON.parse(r.stdout);
      const id: string = doc.sweep.id;
      expect(doc.tasks.map((t: { task: string }) => t.task)).to.deep.equal(['download']);
      expect(doc.points.map((p: { values: object; status: string; tasks: { task: string }[] }) => [p.values, p.status, p.tasks.map((t) => t.task).sort()])).to.deep.equal([
        [{ 'train-quick.yaml:learning_rate': 0.001, 'train-quick.yaml:model': 'mlp' }, 'succeeded', ['evaluate', 'train']],
        [{ 'train-quick.yaml:learning_rate': 0.001, 'train-quick.yaml:model': 'shallow_net' }, 'succeeded', ['evaluate', 'train']],
        [{ 'train-quick.yaml:learning_rate': 0.003, 'train-quick.yaml:model': 'mlp' }, 'succeeded', ['evaluate', 'train']],
        [{ 'train-quick.yaml:learning_rate': 0.003, 'train-quick.yaml:model': 'shallow_net' }, 'succeeded', ['evaluate', 'train']],
      ]);
      const runs = join(ws.dir, '.mlcube', 'runs');
      const recs = readdirSync(runs, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => readJson(join(runs, d.name, 'record.json')));
      expect(recs.filter((x) => x.task === 'download')).to.have.length(1);
      // Each point trained what its derived config says (the copy keeps the file's comments) into a model of its own.
      for (const p of [0, 1, 2, 3]) {
        const cfg = readFileSync(join(ws.dir, 'sweeps', id, String(p), 'train-quick.yaml'), 'utf8');
        expect(cfg).to.match(/^# A quick training run/);
        const [lr, model] = [
          [0.001, 'mlp'],
          [0.001, 'shallow_net'],
          [0.003, 'mlp'],
          [0.003, 'shallow_net'],
        ][p];
        expect(cfg).to.contain(`model: ${model}\n`).and.contain(`learning_rate: ${lr}\n`);
        const train = recs.find((x) => x.task === 'train' && x.sweep.point === p);
        expect(train.parameters.find((q: { name: string }) => q.name === 'model_dir').path).to.equal(`sweeps/${id}/${p}/model`);
        expect(train.metrics.final.learning_rate).to.equal(lr);
        expect(readJson(join(ws.dir, 'sweeps', id, String(p), 'model', 'model.json')).modelTopology, `point ${p} model`).to.be.an('object');
      }
      expect(readFileSync(join(ws.dir, 'train-quick.yaml'), 'utf8'), 'the original is left as it was').to.equal(readFileSync(join(REPO, 'cubes', 'mnist', 'workspace', 'train-quick.yaml'), 'utf8'));

      const c = await mlcube(['runs', 'compare', `--sweep=${id}`, `--workspace=${ws.dir}`, '--json']);
      expect(c.exitCode, c.stderr).to.equal(0);
      const cmp = JSON.parse(c.stdout);
      expect(cmp.keys).to.deep.equal(['train-quick.yaml:learning_rate', 'train-quick.yaml:model']);
      expect(cmp.points).to.have.length(4);
      for (const p of cmp.points) {
        expect(p.status).to.equal('succeeded');
        expect(p.metrics['train.val_accuracy'], JSON.stringify(p.metrics).slice(0, 300)).to.be.within(0.3, 1);
        expect(p.metrics['evaluate.test_accuracy']).to.be.within(0.5, 1);
      }
      // Different architectures give different models: the table is not the same row four times.
      expect(new Set(cmp.points.map((p: { metrics: Record<string, number> }) => p.metrics['evaluate.test_accuracy'])).size).to.be.greaterThan(1);
      const table = await mlcube(['runs', 'compare', `--sweep=${id}`, `--workspace=${ws.dir}`]);
      const lines = table.stdout.trim().split('\n');
      expect(lines).to.have.length(6);
      expect(lines[1]).to.match(/^POINT\s+train-quick\.yaml:learning_rate\s+train-quick\.yaml:model\s+STATUS\s+.*train\.val_accuracy.*evaluate\.test_accuracy/);
      expect(lines[3]).to.match(/^1\s+0\.001\s+shallow_net\s+succeeded\s+/);
    } finally {
      ws.cleanup();
    }
  });
});
