import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { datasetFromNpz } from '../src/data/dataset.js';
import { DATA_CONFIG_SCHEMA } from '../src/download/schema.js';
import { ATTACK_CONFIG_SCHEMA } from '../src/attack/schema.js';
import { EVAL_CONFIG_SCHEMA } from '../src/evaluate/schema.js';
import { TRAIN_CONFIG_SCHEMA } from '../src/train/schema.js';
import { buildOfflineSet, TEST_PER_CLASS } from '../src/tools/offline-set.js';
import { mnistNpz, tempDir } from './helpers.js';

// dist-test/test -> the cube's directory, and the repository around it
const CUBE = resolve(fileURLToPath(import.meta.url), '../../..');
const ROOT = resolve(CUBE, '../..');
const MAIN = join(CUBE, 'dist/main.js');
const main = (args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8' });

describe('mnist cube: files and contract', function () {
  this.timeout(60000);

  it('the quick-start data set is reproduced byte for byte by its generator, with the pinned sha256', () => {
    const pinned = parse(readFileSync(join(CUBE, 'workspace', 'data.yaml'), 'utf8')) as { hash: string; uri: string };
    const { npz, trainCount, testCount } = buildOfflineSet();
    expect(createHash('sha256').update(npz).digest('hex')).to.equal(pinned.hash);
    expect(readFileSync(join(CUBE, 'workspace', pinned.uri)).equals(npz)).to.equal(true);
    expect([trainCount, testCount]).to.deep.equal([10000 - 10 * TEST_PER_CLASS, 10 * TEST_PER_CLASS]);
  });

  it('the quick-start test digits are held back: none of them appears in the training split', () => {
    const ds = datasetFromNpz(buildOfflineSet().npz, 'offline');
    const seen = new Set<string>();
    for (let i = 0; i < ds.train.count; i++) seen.add(Buffer.from(ds.train.images.subarray(i * 784, (i + 1) * 784)).toString('base64'));
    let overlap = 0;
    for (let i = 0; i < ds.test.count; i++) if (seen.has(Buffer.from(ds.test.images.subarray(i * 784, (i + 1) * 784)).toString('base64'))) overlap++;
    expect(overlap).to.equal(0);
    const perClass = new Array(10).fill(0);
    ds.test.labels.forEach((l) => perClass[l]++);
    expect(perClass).to.deep.equal(new Array(10).fill(TEST_PER_CLASS));
  });

  it('schemas/mnist-*.schema.json are the schemas the cube validates with', () => {
    expect(JSON.parse(readFileSync(join(ROOT, 'schemas/mnist-train-config.schema.json'), 'utf8'))).to.deep.equal(TRAIN_CONFIG_SCHEMA);
    expect(JSON.parse(readFileSync(join(ROOT, 'schemas/mnist-data-config.schema.json'), 'utf8'))).to.deep.equal(DATA_CONFIG_SCHEMA);
    expect(JSON.parse(readFileSync(join(ROOT, 'schemas/mnist-eval-config.schema.json'), 'utf8'))).to.deep.equal(EVAL_CONFIG_SCHEMA);
    expect(JSON.parse(readFileSync(join(ROOT, 'schemas/mnist-attack-config.schema.json'), 'utf8'))).to.deep.equal(ATTACK_CONFIG_SCHEMA);
  });

  it("mlcube.yaml and robustness.yaml validate against schemas/mlcube.schema.json and the workspaces' YAML against the cube schemas", () => {
    const ajv = new Ajv({ strict: false, allErrors: true, discriminator: true });
    for (const f of readdirSync(join(ROOT, 'schemas')).filter((n) => n.endsWith('.json'))) ajv.addSchema(JSON.parse(readFileSync(join(ROOT, 'schemas', f), 'utf8')));
    const cube = parse(readFileSync(join(CUBE, 'mlcube.yaml'), 'utf8'));
    const check = (id: string, doc: unknown) => {
      const v = ajv.getSchema(id)!;
      expect(v(doc), JSON.stringify(v.errors)).to.equal(true);
    };
    check('https://mlcube-ts.local/schemas/mlcube.schema.json', cube);
    expect(Object.keys(cube.tasks)).to.deep.equal(['download', 'train', 'evaluate', 'export']);
    expect(cube.local.command).to.equal('node dist/main.js');
    for (const ws of [join(ROOT, 'workspace/mnist'), join(CUBE, 'workspace')]) {
      check(DATA_CONFIG_SCHEMA.$id, parse(readFileSync(join(ws, 'data.yaml'), 'utf8')));
      check(TRAIN_CONFIG_SCHEMA.$id, parse(readFileSync(join(ws, 'train.yaml'), 'utf8')));
    }
    check(TRAIN_CONFIG_SCHEMA.$id, parse(readFileSync(join(CUBE, 'workspace', 'train-quick.yaml'), 'utf8')));
    check(TRAIN_CONFIG_SCHEMA.$id, parse(readFileSync(join(CUBE, 'workspace', 'train-dp.yaml'), 'utf8')));
    check(TRAIN_CONFIG_SCHEMA.$id, parse(readFileSync(join(CUBE, 'workspace', 'train-layers.yaml'), 'utf8')));
    check(EVAL_CONFIG_SCHEMA.$id, parse(readFileSync(join(CUBE, 'workspace', 'evaluate-onnx.yaml'), 'utf8')));
    const robustness = parse(readFileSync(join(CUBE, 'robustness.yaml'), 'utf8'));
    check('https://mlcube-ts.local/schemas/mlcube.schema.json', robustness);
    expect(Object.keys(robustness.tasks)).to.deep.equal(['download', 'train_shallow', 'train_lenet', 'attack', 'infer_shallow', 'infer_lenet', 'report']);
    for (const suffix of ['', '-quick']) {
      check(TRAIN_CONFIG_SCHEMA.$id, parse(readFileSync(join(CUBE, 'workspace', `train-shallow${suffix}.yaml`), 'utf8')));
      check(TRAIN_CONFIG_SCHEMA.$id, parse(readFileSync(join(CUBE, 'workspace', `train-lenet${suffix}.yaml`), 'utf8')));
      check(ATTACK_CONFIG_SCHEMA.$id, parse(readFileSync(join(CUBE, 'workspace', `attack${suffix}.yaml`), 'utf8')));
    }
  });

  it('main.js: exit 1 with one stderr line naming file and key for a bad data_config; exit 0 on success', () => {
    const t = tempDir();
    try {
      writeFileSync(join(t.dir, 'data.yaml'), 'uri: x.npz\nhash: 12\n');
      const bad = main(['download', `--data_config=${join(t.dir, 'data.yaml')}`, `--data_dir=${join(t.dir, 'data')}`, `--log_dir=${join(t.dir, 'logs')}`]);
      expect(bad.status).to.equal(1);
      const errLines = bad.stderr.split('\n').filter((l) => l.includes('error:'));
      expect(errLines).to.have.length(1);
      expect(errLines[0]).to.match(/data\.yaml:2:1: key "hash": bad value; found 12; expected .*Fix: /);
      expect(bad.stdout).to.equal('');
      const images = new Uint8Array(20 * 784).map((_, i) => i % 255);
      const labels = Uint8Array.from({ length: 20 }, (_, i) => i % 10);
      const npz = mnistNpz(images, labels, true);
      writeFileSync(join(t.dir, 'tiny.npz'), npz);
      writeFileSync(join(t.dir, 'data.yaml'), `uri: tiny.npz\nhash: ${createHash('sha256').update(npz).digest('hex')}\n`);
      mkdirSync(join(t.dir, 'data'), { recursive: true });
      const ok = main(['download', `--data_config=${join(t.dir, 'data.yaml')}`, `--data_dir=${join(t.dir, 'data')}`, `--log_dir=${join(t.dir, 'logs')}`]);
      expect(ok.status, ok.stderr).to.equal(0);
      expect(readdirSync(join(t.dir, 'data'))).to.deep.equal(['tiny.npz']);
      expect(readFileSync(join(t.dir, 'logs', 'download.log'), 'utf8')).to.include('verified');
      for (const name of ['fly_train', 'constructor', 'toString_x']) expect(main([name]).stderr, name).to.match(/unknown task; found /);
      const unknown = main(['fly']);
      expect(unknown.status).to.equal(1);
      expect(unknown.stderr).to.match(/unknown task; found fly; expected download, train, evaluate, export, attack, infer, report\. Fix: .*<program>_<anything>/);
    } finally {
      t.cleanup();
    }
  });
});
