import { expect } from 'chai';
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mlcube, readJson, REPO, tempDir } from '../helpers/cli.js';

// The README's layer-list example: a model defined in train.yaml only, trained and evaluated through the CLI.
describe('MNIST cube: a model from a layer list, train_config=train-layers.yaml (README)', function () {
  this.timeout(600_000);

  it('trains and passes the default release gates, the custom id recorded; a list whose shapes do not fit stops train before any model is written', async () => {
    const ws = tempDir('mlcube-mnist-layers-');
    try {
      for (const f of ['data.yaml', 'mnist-offline.npz', 'train-layers.yaml']) copyFileSync(join(REPO, 'cubes', 'mnist', 'workspace', f), join(ws.dir, f));
      const base = ['run', '--mlcube=cubes/mnist', '--platform=local', `--workspace=${ws.dir}`];
      const env = { MLCUBE_RECORD: 'off' };
      const r = await mlcube([...base, '--task=download,train,evaluate', 'train_config=train-layers.yaml'], { env });
      expect(r.exitCode, r.stderr).to.equal(0);
      const model = readJson(join(ws.dir, 'model', 'model.json'));
      const id = model.userDefinedMetadata.model_id;
      expect(id).to.match(/^custom:small_cnn:[0-9a-f]{12}$/);
      expect(readJson(join(ws.dir, 'model', 'training.json')).model_id).to.equal(id);
      expect(model.modelTopology.config.layers.map((l: { class_name: string }) => l.class_name)).to.deep.equal(['Conv2D', 'MaxPooling2D', 'Conv2D', 'MaxPooling2D', 'Flatten', 'Dropout', 'Dense']);
      const metrics = readJson(join(ws.dir, 'metrics', 'metrics.json'));
      expect(metrics.model_id).to.equal(id);
      expect(metrics.accuracy).to.be.at.least(0.97);

      writeFileSync(join(ws.dir, 'train-bad.yaml'), 'model:\n  name: bad\n  layers:\n    - conv2d: {filters: 4, kernel_size: 3}\n    - dense: {units: 10, activation: softmax}\n');
      const bad = await mlcube([...base, '--task=train', 'train_config=train-bad.yaml', 'model_dir=model-bad'], { env });
      expect(bad.exitCode).to.equal(1);
      expect(bad.stderr).to.match(/train-bad\.yaml:5:7: key "model\.layers\.1\.dense": layer 1 \(dense\) gets an image input of shape \[26,26,4\]/);
      expect(bad.stderr).to.not.match(/\n\s+at /);
      expect(existsSync(join(ws.dir, 'model-bad', 'model.json'))).to.equal(false);
    } finally {
      ws.cleanup();
    }
  });
});
