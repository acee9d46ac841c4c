import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mlcube, readJson, tempDir } from '../helpers/cli.js';
import { mnistWorkspace, QUICK_GATES } from '../helpers/mnist.js';

// The README's quick training run: a second training config in the cube's workspace, picked with a task override.
describe('MNIST cube: a quick training run with train_config=train-quick.yaml (README)', function () {
  this.timeout(600_000);

  it('the quick model fails the default release gates (exit 7, a signed record saying so); the README command, thresholds lowered, passes', async () => {
    const ws = mnistWorkspace('mlcube-mnist-quick-', ['train.yaml', 'train-quick.yaml']);
    const keys = tempDir('mlcube-mnist-quick-keys-');
    try {
      expect((await mlcube(['keys', 'generate', `--dir=${keys.dir}`])).exitCode).to.equal(0);
      const env = { MLCUBE_SIGNING_KEY: join(keys.dir, 'signing.key') };
      const args = ['run', '--mlcube=cubes/mnist', '--platform=local', '--task=download,train,evaluate', `--workspace=${ws.dir}`, 'train_config=train-quick.yaml'];
      const gated = await mlcube(args, { env });
      expect(gated.exitCode, gated.stderr).to.equal(7);
      expect(gated.stderr).to.match(/MLCUBE_GATE_FAILED: task "evaluate": release gates failed \([12] of 4\):/);
      expect(gated.stderr).to.match(/FAILED test_accuracy: metric test_accuracy = 0\.\d+, not >= 0\.97/);
      for (const g of ['min_class_accuracy: metric test_accuracy_min_class = ', 'model_size: size of model_dir = ', 'latency_ms_batch1: metric latency_ms_batch1 = '])
        expect(gated.stderr).to.contain(g);
      const log = readdirSync(join(ws.dir, 'logs'))
        .map((f) => readFileSync(join(ws.dir, 'logs', f), 'utf8'))
        .join('\n');
      expect(log, 'the quick config was used').to.match(/mlp/);
      const metrics = readJson(join(ws.dir, 'metrics', 'metrics.json'));
      expect(metrics.accuracy, JSON.stringify(metrics).slice(0, 200)).to.be.within(0.85, 0.97);
      const runs = join(ws.dir, '.mlcube', 'runs');
      const evaluate = readdirSync(runs).find((d) => d.includes('-evaluate-'))!;
      const rec = readJson(join(runs, evaluate, 'record.json'));
      expect([rec.status, rec.exit_code, rec.gates.release]).to.deep.equal(['failed', 7, 'failed']);
      expect(rec.gates.results.find((g: { name: string }) => g.name === 'test_accuracy')).to.deep.include({ outcome: 'failed', value: metrics.accuracy, threshold: 0.97 });
      expect(rec.gates.results.find((g: { name: string }) => g.name === 'model_size')).to.deep.include({ outcome: 'passed', kind: 'size', source: 'model_dir' });
      const st = JSON.parse(Buffer.from(readJson(join(runs, evaluate, 'provenance.dsse.json')).payload, 'base64').toString('utf8'));
      expect(st.predicate.runDetails.byproducts.find((b: { name: string }) => b.name === 'release-gates').annotations.release).to.equal('failed');
      const v = await mlcube(['provenance', 'verify', evaluate, `--workspace=${ws.dir}`], { env });
      expect(v.exitCode).to.equal(5);
      expect(v.stderr).to.match(/\(1 problem;[\s\S]*release: the run failed its release gates: test_accuracy/);

      const quick = await mlcube([...args, ...QUICK_GATES], { env: { MLCUBE_RECORD: 'off' } });
      expect(quick.exitCode, quick.stderr).to.equal(0);
      expect(quick.stderr).to.match(/task "evaluate": release gates passed: test_accuracy \(metric test_accuracy = 0\.\d+ >= 0\.85\)/);
    } finally {
      ws.cleanup();
      keys.cleanup();
    }
  });
});
