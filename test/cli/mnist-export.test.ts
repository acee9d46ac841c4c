import { expect } from 'chai';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mlcube, REPO, tempDir } from '../helpers/cli.js';

// The README's export and ONNX Runtime evaluation, through the runtime (local runner) and the cube's mlcube.yaml.
describe('MNIST cube: export (ONNX + TensorFlow.js, checked on ONNX Runtime) and evaluate with backend: onnx (README)', function () {
  this.timeout(600_000);

  it('download -> train -> export -> evaluate eval_config=evaluate-onnx.yaml: model.onnx passes its check, metrics say onnx', async () => {
    const ws = tempDir('mlcube-mnist-export-');
    try {
      for (const f of ['data.yaml', 'mnist-offline.npz', 'train-quick.yaml', 'evaluate-onnx.yaml']) copyFileSync(join(REPO, 'cubes', 'mnist', 'workspace', f), join(ws.dir, f));
      const r = await mlcube(
        [
          'run',
          '--mlcube=cubes/mnist',
          '--platform=local',
          '--task=download,train,export,evaluate',
          `--workspace=${ws.dir}`,
          'train_config=train-quick.yaml',
          'eval_config=evaluate-onnx.yaml',
          '-Ptasks.evaluate.gates.test_accuracy.min=0.85',
          '-Ptasks.evaluate.gates.min_class_accuracy.min=0.7',
        ],
        { env: { MLCUBE_RECORD: 'off' } },
      );
      expect(r.exitCode, r.stderr).to.equal(0);
      const report = JSON.parse(readFileSync(join(ws.dir, 'export', 'export.json'), 'utf8'));
      expect(report.model_id).to.equal('mnist_mlp_v1');
      expect(report.check).to.include({ images: 1500, same_class: 1500, passed: true });
      expect(report.check.max_abs_diff_logits).to.be.at.most(1e-5);
      expect(readFileSync(join(ws.dir, 'export', 'model.onnx')).length).to.equal(report.onnx.bytes);
      expect(existsSync(join(ws.dir, 'export', 'tfjs', 'model.json'))).to.equal(true);
      const metrics = JSON.parse(readFileSync(join(ws.dir, 'metrics', 'metrics.json'), 'utf8'));
      expect([metrics.backend, metrics.model_id]).to.deep.equal(['onnx', 'mnist_mlp_v1']);
      expect(metrics.accuracy).to.be.within(0.85, 1);
    } finally {
      ws.cleanup();
    }
  });
});
