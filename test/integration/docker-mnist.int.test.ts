import { expect } from 'chai';
import { copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { mlcube, readJson, REPO, tempDir } from '../helpers/cli.js';
import { requireDockerBaseImage } from '../helpers/docker.js';

const TAG = `mlcube-test/mnist:${process.pid}`;

describe('MNIST cube on the docker runner: download -> train -> evaluate in containers (integration)', function () {
  let ws: { dir: string; cleanup: () => void };

  before(async function () {
    await requireDockerBaseImage(this, 'needs a Docker daemon');
    ws = tempDir('mlcube-mnist-docker-');
    for (const f of ['data.yaml', 'mnist-offline.npz']) copyFileSync(join(REPO, 'cubes', 'mnist', 'workspace', f), join(ws.dir, f));
    // A quick model keeps CI short; the quick-start default (cnn) is what `npm start` runs on the host.
    writeFileSync(join(ws.dir, 'train.yaml'), 'model: mlp\noptimizer: adam\nlearning_rate: 0.001\ntrain_epochs: 1\nbatch_size: 64\nvalidation_split: 0.05\nseed: 42\n');
  });

  after(async () => {
    ws?.cleanup();
    await new Docker()
      .getImage(TAG)
      .remove({ force: true })
      .catch(() => undefined);
  });

  it("builds the image from the cube's dist/ and node_modules on the registry-free base and runs the three tasks", async () => {
    const r = await mlcube([
      'run',
      '--mlcube=cubes/mnist',
      '--platform=docker',
      `--workspace=${ws.dir}`,
      '--task=download,train,evaluate',
      `-Pdocker.image=${TAG}`,
      '-Pdocker.build_args.BASE=mlcube/node-base:20',
      // The quick model misses the cube's accuracy gates (test/cli/mnist-quick.test.ts): lowered, as the README's quick command does.
      '-Ptasks.evaluate.gates.test_accuracy.min=0.85',
      '-Ptasks.evaluate.gates.min_class_accuracy.min=0.7',
      '--json',
    ]);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stderr).to.contain(`building image ${TAG}`);
    expect(r.stderr).to.contain('--data_config=/mlcube_io0/data.yaml');
    expect(JSON.parse(r.stdout).tasks.map((t: { task: string }) => t.task)).to.deep.equal(['download', 'train', 'evaluate']);
    const metrics = readJson(join(ws.dir, 'metrics', 'metrics.json'));
    expect(metrics.accuracy).to.be.greaterThan(0.85);
    expect(metrics.confusion_matrix).to.have.length(10);
    for (const f of ['data/mnist-offline.npz', 'model/model.json', 'metrics/metrics.json']) expect(statSync(join(ws.dir, f)).uid, f).to.equal(process.getuid!());
    expect(readFileSync(join(ws.dir, 'logs', 'train.log'), 'utf8')).to.contain('backend wasm');
  });

  it("the image carries the cube's production node_modules, without its dev dependencies and sources", async () => {
    const probe =
      "const r = require('node:module').createRequire('/cube/dist/main.js'); const at = (p) => { try { return r.resolve(p); } catch { return null; } };" +
      " console.log('found', JSON.stringify({ tfjs: at('@tensorflow/tfjs'), wasm: at('@tensorflow/tfjs-backend-wasm'), mnist: at('mnist/package.json'), src: require('node:fs').existsSync('/cube/src') }));";
    const docker = new Docker();
    const c = await docker.createContainer({ Image: TAG, Entrypoint: ['node', '-e', probe], Tty: true });
    try {
      await c.start();
      expect((await c.wait()).StatusCode).to.equal(0);
      // A prefix: docker-modem hands back a parsed object, not the text, when the whole output is JSON.
      const found = JSON.parse(
        String(await c.logs({ stdout: true, stderr: true }))
          .trim()
          .replace(/^found /, ''),
      );
      expect(found.tfjs).to.match(/^\/cube\/node_modules\/@tensorflow\/tfjs\//);
      expect(found.wasm).to.match(/^\/cube\/node_modules\/@tensorflow\/tfjs-backend-wasm\//);
      expect([found.mnist, found.src]).to.deep.equal([null, false]);
    } finally {
      await c.remove({ force: true });
    }
  });

  it('the model card of the containers’ runs names the image and its digest (the runs are unsigned here: --unverified)', async () => {
    const r = await mlcube(['card', '--mlcube=cubes/mnist', `--workspace=${ws.dir}`, '--unverified', '--json']);
    expect(r.exitCode, r.stderr).to.equal(0);
    const card = JSON.parse(r.stdout);
    expect([card.verified, card.not_reported]).to.deep.equal([false, []]);
    const evaluate = readJson(join(ws.dir, '.mlcube', 'runs', card.evaluation_run, 'record.json'));
    expect(evaluate.image.digest).to.match(/^sha256:/);
    const md = readFileSync(join(ws.dir, 'model-card', 'model-card.md'), 'utf8');
    expect(md).to.contain(`| ${card.evaluation_run} | evaluate | docker | sha256:${evaluate.cube.sha256} | - | ${TAG} | ${evaluate.image.digest} |`);
  });
});
