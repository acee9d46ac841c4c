import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { parse } from 'yaml';
import { checkOnnx, MAX_ABS_DIFF } from '../src/export/check.js';
import { createModel } from '../src/model/architectures.js';
import { selectBackend } from '../src/model/backend.js';
import { createLayerModel, layerModelId, layerShapes } from '../src/model/layers-config.js';
import type { LayerModel } from '../src/model/layers-schema.js';
import { toOnnx } from '../src/model/onnx.js';
import { LocalComm } from '../src/train/comm.js';
import { readTrainConfig } from '../src/train/config.js';
import { trainReplica } from '../src/train/loop.js';
import { tempDir, toySplit, trainConfig } from './helpers.js';

/** The layer list a YAML text gives after validation (defaults filled in), read through train.yaml. */
function readLayers(yaml: string): { model: LayerModel; model_id: string } {
  const t = tempDir();
  try {
    const f = join(t.dir, 'train.yaml');
    writeFileSync(f, yaml);
    const c = readTrainConfig(f);
    return { model: c.model as LayerModel, model_id: c.model_id };
  } finally {
    t.cleanup();
  }
}

const model = (layers: string) => `model:\n  name: t\n  layers:\n${layers}`;

describe('mnist cube: models from layer lists (train_config model: {name, layers})', function () {
  this.timeout(120000);
  before(async () => {
    await selectBackend('cpu');
  });

  describe('valid lists build the tfjs stack the shape check computed', () => {
    const cases: Array<{ name: string; layers: string; classes: string[]; shapes: number[][]; params: number }> = [
      {
        name: 'two conv blocks',
        layers:
          '  - conv2d: {filters: 8, kernel_size: 3, activation: relu}\n  - max_pooling2d: {pool_size: 2}\n  - conv2d: {filters: 16, kernel_size: 3, activation: relu}\n  - max_pooling2d: {pool_size: 2}\n  - flatten: {}\n  - dropout: {rate: 0.2}\n  - dense: {units: 10, activation: softmax}\n',
        classes: ['Conv2D', 'MaxPooling2D', 'Conv2D', 'MaxPooling2D', 'Flatten', 'Dropout', 'Dense'],
        shapes: [[26, 26, 8], [13, 13, 8], [11, 11, 16], [5, 5, 16], [400], [400], [10]],
        params: 3 * 3 * 8 + 8 + (3 * 3 * 8 * 16 + 16) + (400 * 10 + 10),
      },
      {
        name: 'dense with an activation layer',
        layers: '  - flatten: {}\n  - dense: {units: 64}\n  - activation: tanh\n  - dense: {units: 10, activation: softmax}\n',
        classes: ['Flatten', 'Dense', 'Activation', 'Dense'],
        shapes: [[784], [64], [64], [10]],
        params: 784 * 64 + 64 + 64 * 10 + 10,
      },
      {
        name: 'strides, same padding, no bias, [h, w] sizes',
        layers:
          '  - conv2d: {filters: 4, kernel_size: [5, 3], strides: 2, padding: same, use_bias: false}\n  - average_pooling2d: {pool_size: 3, strides: 1}\n  - flatten: {}\n  - dense: {units: 10, activation: softmax}\n',
        classes: ['Conv2D', 'AveragePooling2D', 'Flatten', 'Dense'],
        shapes: [[14, 14, 4], [12, 12, 4], [576], [10]],
        params: 5 * 3 * 4 + 576 * 10 + 10,
      },
    ];
    for (const c of cases) {
      it(`${c.name}: ${c.classes.join(', ')}; ${c.params} weights`, () => {
        const { model: m } = readLayers(model(c.layers));
        const computed = layerShapes(m);
        expect(computed).to.deep.equal({ shapes: c.shapes, params: c.params });
        const built = createLayerModel(m, 1);
        expect(built.layers.map((l) => l.getClassName())).to.deep.equal(c.classes);
        expect(built.layers.map((l) => (l.outputShape as number[]).slice(1))).to.deep.equal(c.shapes);
        expect(built.countParams()).to.equal(c.params);
        built.dispose();
      });
    }
  });

  it("the mlp written as a layer list starts from the built-in mlp's weights (the same seeded initialisers)", () => {
    const { model: m } = readLayers(model('  - flatten: {}\n  - dense: {units: 512, activation: relu}\n  - dropout: {rate: 0.2}\n  - dense: {units: 10, activation: softmax}\n'));
    const a = createLayerModel(m, 3);
    const b = createModel('mlp', 3);
    const c = createLayerModel(m, 4);
    const w = (x: tf.LayersModel) => x.getWeights().map((t) => Array.from(t.dataSync()));
    expect(w(a)).to.deep.equal(w(b));
    expect(w(c)[0]).to.not.deep.equal(w(a)[0]);
    [a, b, c].forEach((x) => x.dispose());
  });

  it('the model id hashes the canonical list: equal for equal layers however written, different for a changed layer or name', () => {
    const base = readLayers(model('  - flatten: {}\n  - dense: {units: 10, activation: softmax}\n')).model_id;
    expect(base).to.match(/^custom:t:[0-9a-f]{12}$/);
    const same = readLayers(model('  - flatten: {}\n  - dense: {activation: softmax, units: 10, use_bias: true}\n')).model_id;
    expect(same).to.equal(base);
    const conv = (k: string) => model(`  - conv2d: {filters: 2, kernel_size: ${k}}\n  - flatten: {}\n  - dense: {units: 10, activation: softmax}\n`);
    expect(readLayers(conv('3')).model_id).to.equal(readLayers(conv('[3, 3]')).model_id);
    expect(readLayers(conv('3')).model_id).to.not.equal(readLayers(conv('[3, 2]')).model_id);
    expect(readLayers(model('  - flatten: {}\n  - dense: {units: 10, activation: softmax, use_bias: false}\n')).model_id).to.not.equal(base);
    expect(layerModelId({ name: 'u', layers: [{ flatten: {} }, { dense: { units: 10, activation: 'softmax', use_bias: true } }] })).to.equal(base.replace('custom:t:', 'custom:u:'));
  });

  describe('invalid lists: a located error naming the layer, what was found and expected', () => {
    const cases: Array<[string, string, RegExp]> = [
      ['unknown layer', model('  - flatten: {}\n  - lstm: {units: 4}\n'), /train\.yaml:5:5: key "model\.layers\.1\.lstm": unknown key/],
      ['unknown key of a layer', model('  - flatten: {}\n  - dense: {units: 10, activation: softmax, kernel: 3}\n'), /train\.yaml:5:45: key "model\.layers\.1\.dense\.kernel": unknown key/],
      ['bad value', model('  - conv2d: {filters: 0, kernel_size: 3}\n'), /train\.yaml:4:14: key "model\.layers\.0\.conv2d\.filters": bad value; found 0; expected a value that must be >= 1/],
      ['unknown activation', model('  - activation: gelu\n'), /train\.yaml:4:5: key "model\.layers\.0\.activation": value not allowed; found "gelu"; expected one of "linear", "relu"/],
      ['two layers in one item', model('  - {flatten: {}, dropout: {rate: 0.1}}\n'), /train\.yaml:4:5: key "model\.layers\.0": bad value.*must NOT have more than 1 properties/],
      ['missing key', model('  - dense: {activation: relu}\n'), /train\.yaml:4:5: key "model\.layers\.0\.dense\.units": missing key/],
      ['a name not an architecture', 'model: resnet\n', /train\.yaml:1:1: key "model": value not allowed; found "resnet"; expected one of "mlp", "cnn"/],
      [
        'dense on an image',
        model('  - conv2d: {filters: 8, kernel_size: 3}\n  - dense: {units: 10, activation: softmax}\n'),
        /train\.yaml:5:5: key "model\.layers\.1\.dense": layer 1 \(dense\) gets an image input of shape \[26,26,8\]; found .*; expected a flat input\. Fix: put a flatten layer before it/,
      ],
      [
        'conv after flatten',
        model('  - flatten: {}\n  - conv2d: {filters: 8, kernel_size: 3}\n'),
        /train\.yaml:5:5: key "model\.layers\.1\.conv2d": layer 1 \(conv2d\) gets a flat input of shape \[784\]; .*expected an image input/,
      ],
      [
        'kernel larger than its input',
        model('  - max_pooling2d: {pool_size: 4}\n  - max_pooling2d: {pool_size: 4}\n  - conv2d: {filters: 2, kernel_size: 5}\n'),
        /train\.yaml:6:5: key "model\.layers\.2\.conv2d": layer 2 \(conv2d\) has a window \[5,5\] larger than its input \[1,1,1\]; .*expected a window of at most \[1,1\]/,
      ],
      ['flatten twice', model('  - flatten: {}\n  - flatten: {}\n'), /train\.yaml:5:5: key "model\.layers\.1\.flatten": layer 1 \(flatten\) gets an input that is already flat \(\[784\]\)/],
      [
        'wrong last layer (units)',
        model('  - flatten: {}\n  - dense: {units: 12, activation: softmax}\n'),
        /train\.yaml:5:5: key "model\.layers\.1\.dense": the last layer \(1, dense\) gives \[12\] with activation softmax; .*expected dense with units 10 and activation softmax/,
      ],
      [
        'wrong last layer (type)',
        model('  - flatten: {}\n  - dense: {units: 10, activation: softmax}\n  - dropout: {rate: 0.1}\n'),
        /train\.yaml:6:5: key "model\.layers\.2\.dropout": the last layer \(2, dropout\) gives \[10\]; .*Fix: end the list with \{dense: \{units: 10, activation: softmax\}\}/,
      ],
      [
        'too many weights',
        model('  - flatten: {}\n  - dense: {units: 4096}\n  - dense: {units: 4096}\n  - dense: {units: 10, activation: softmax}\n'),
        /train\.yaml:3:3: key "model\.layers": the layers have 20037642 weights; .*expected at most 5000000/,
      ],
    ];
    for (const [name, yaml, re] of cases) {
      it(name, () => {
        expect(() => readLayers(yaml)).to.throw(re);
      });
    }
  });

  it('training is deterministic: the same list and seed give the same weights, another seed others', async () => {
    await selectBackend('wasm');
    const { model: m, model_id } = readLayers(
      model('  - conv2d: {filters: 4, kernel_size: 5, strides: 2, activation: relu}\n  - flatten: {}\n  - dropout: {rate: 0.3}\n  - dense: {units: 10, activation: softmax}\n'),
    );
    const data = toySplit(256, 4);
    const run = (seed: number) => {
      const r = trainReplica(trainConfig({ model: m, model_id: model_id as `custom:${string}:${string}`, seed, train_epochs: 2 }), data, new LocalComm());
      const w = r.model.getWeights().map((t) => Array.from(t.dataSync()));
      r.model.dispose();
      return { w, history: r.history.map((h) => h.loss) };
    };
    const a = run(5);
    const b = run(5);
    expect(b).to.deep.equal(a);
    expect(run(6).w).to.not.deep.equal(a.w);
    expect(a.history[1]).to.be.lessThan(a.history[0]);
    await selectBackend('cpu');
  });

  it(`ONNX export: a layer list with strides, same padding, average pooling and tanh matches on ONNX Runtime (<= ${MAX_ABS_DIFF})`, async () => {
    const { model: m } = readLayers(
      model(
        '  - conv2d: {filters: 4, kernel_size: [5, 3], strides: 2, padding: same, activation: elu}\n  - average_pooling2d: {pool_size: 3, strides: 1}\n  - activation: tanh\n  - flatten: {}\n  - dense: {units: 16, activation: sigmoid}\n  - dense: {units: 10, activation: softmax}\n',
      ),
    );
    const built = createLayerModel(m, 2);
    for (const l of built.layers) {
      const ws = l.getWeights();
      if (ws.length === 2) l.setWeights([ws[0], tf.randomUniform(ws[1].shape, -0.1, 0.1, 'float32', 2)]);
    }
    const check = await checkOnnx(built, toOnnx(built), toySplit(100, 9), 50);
    built.dispose();
    expect(check.max_abs_diff_logits).to.be.at.most(MAX_ABS_DIFF);
    expect(check.passed).to.equal(true);
  });

  for (const activation of ['swish', 'relu6']) {
    it(`ONNX export of a layer list with ${activation} says which layer and activation it cannot write`, () => {
      const built = createLayerModel(readLayers(model(`  - flatten: {}\n  - dense: {units: 8, activation: ${activation}}\n  - dense: {units: 10, activation: softmax}\n`)).model, 1);
      expect(() => toOnnx(built)).to.throw(new RegExp(`model layer dense\\S* \\(Dense\\): cannot be written as ONNX: activation ${activation}`));
      built.dispose();
    });
  }

  it('workspace/train-layers.yaml reads as a layer list with a custom model id', () => {
    const c = readTrainConfig(join(process.cwd(), 'cubes/mnist/workspace/train-layers.yaml'));
    expect(c.model_id).to.match(/^custom:small_cnn:[0-9a-f]{12}$/);
    expect(parse(JSON.stringify(c.model)))
      .to.have.property('layers')
      .with.length(7);
  });
});
