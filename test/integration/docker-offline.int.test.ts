import { expect } from 'chai';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { execa } from 'execa';
import { copyFixture, FIXTURES, mlcube, readJson, REPO, tempDir } from '../helpers/cli.js';
import { DockerRunner } from '../../runners/docker.js';
import { hostSuite } from '../../runners/docker-base-image.js';

// The README's Docker recipes on a daemon without the base images: a Node cube (MNIST, quick training config) and
// a Python cube (test/fixtures/cubes/python) are built and run with no registry. The base images are made from the
// host's Debian package source, so mmdebstrap is needed (.ci/run installs it).
const NODE_BASE = `mlcube/node-base:${process.versions.node.split('.')[0]}`;
const PYTHON_DOCKERFILE = readFileSync(join(FIXTURES, 'cubes', 'python', 'Dockerfile'), 'utf8');
const PYTHON_BASE = /^FROM (\S+)/m.exec(PYTHON_DOCKERFILE)![1];
// What the README's commands make (the cubes' own image names), removed after; the base images stay, as a user's would.
const MNIST_IMAGE = 'mlcube/mnist-ts:0.1.0';
const PYTHON_IMAGE = 'mlcube-test/python-sum:0.0.1';
const docker = new Docker();

const exists = (image: string) =>
  docker
    .getImage(image)
    .inspect()
    .then(() => true)
    .catch(() => false);
const size = async (image: string) => `${((await docker.getImage(image).inspect()).Size / 1e6).toFixed(0)} MB`;
const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

/** Runs `sh -c script` in the image (`node -e script` with node: true); its output. */
async function inImage(image: string, script: string, node = false): Promise<string> {
  const r = await execa('docker', ['run', '--rm', '--entrypoint', node ? 'node' : 'sh', image, node ? '-e' : '-c', script], { reject: false });
  expect(r.exitCode, r.stderr).to.equal(0);
  return r.stdout.trim();
}

describe('Docker offline, from no base images: the README recipes for a Node cube and a Python cube (integration)', function () {
  this.timeout(600_000);

  before(async function () {
    const a = await new DockerRunner().probe();
    if (!a.available) {
      console.warn(`    skip: needs a Docker daemon: ${a.reason}`);
      return this.skip();
    }
    if ((await execa('mmdebstrap', ['--version'], { reject: false })).failed) {
      console.warn('    skip: the base images are made with mmdebstrap, which is not installed (apt-get install mmdebstrap)');
      return this.skip();
    }
    // From no base images: only the tags this recipe makes are removed (other images stay).
    for (const image of [MNIST_IMAGE, PYTHON_IMAGE, NODE_BASE, PYTHON_BASE])
      await docker
        .getImage(image)
        .remove()
        .catch(() => undefined);
    for (const image of [NODE_BASE, PYTHON_BASE]) expect(await exists(image), `${image} removed`).to.equal(false);
  });

  after(async () => {
    for (const image of [MNIST_IMAGE, PYTHON_IMAGE])
      await docker
        .getImage(image)
        .remove({ force: true })
        .catch(() => undefined);
  });

  describe('a Node cube: MNIST', () => {
    let ws: { dir: string; cleanup: () => void };
    before(() => {
      ws = tempDir('mlcube-mnist-docker-');
      for (const f of ['data.yaml', 'mnist-offline.npz', 'train-quick.yaml', 'evaluate-onnx.yaml']) copyFileSync(join(REPO, 'cubes', 'mnist', 'workspace', f), join(ws.dir, f));
    });
    after(() => ws?.cleanup());

    it(`configure makes the missing ${NODE_BASE} (Debian with this host's node and a shell) and builds the cube on it`, async () => {
      const started = Date.now();
      const c = await mlcube(['configure', '--mlcube=cubes/mnist', '--platform=docker']);
      expect(c.exitCode, c.stderr).to.equal(0);
      expect(c.stderr).to.contain(`the base image ${NODE_BASE} (${join(REPO, 'cubes', 'mnist', 'Dockerfile')}:8) is not in the local Docker daemon: making it, as \`mlcube base-image\` does`);
      const made = /made \S+ in ([\d.]+) s/.exec(c.stderr);
      expect(made, c.stderr).to.not.equal(null);
      expect(c.stderr).to.contain(`built ${MNIST_IMAGE}`);
      console.log(`      ${NODE_BASE}: made in ${made![1]} s, ${await size(NODE_BASE)}; configure took ${seconds(started)}`);
      // The cube's image (its base's label and files) has this host's node and a shell, for RUN steps.
      const labels = (await docker.getImage(MNIST_IMAGE).inspect()).Config.Labels ?? {};
      expect(labels['org.mlcommons.mlcube.base-image']).to.equal(`suite=${hostSuite()} packages= node=${process.version}`);
      expect(await inImage(MNIST_IMAGE, 'node --version')).to.equal(process.version);
    });

    it('run: download -> train (train_config=train-quick.yaml) -> evaluate in containers', async () => {
      const r = await mlcube([
        'run',
        '--mlcube=cubes/mnist',
        '--platform=docker',
        '--task=download,train,evaluate',
        `--workspace=${ws.dir}`,
        'train_config=train-quick.yaml',
        // The quick model misses the cube's accuracy gates (test/cli/mnist-quick.test.ts): lowered, as the README's quick command does.
        '-Ptasks.evaluate.gates.test_accuracy.min=0.85',
        '-Ptasks.evaluate.gates.min_class_accuracy.min=0.7',
        '--json',
      ]);
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(r.stderr).to.not.contain('building image');
      expect(r.stderr).to.match(/--train_config=\/mlcube_io\d+\/train-quick\.yaml/);
      expect(JSON.parse(r.stdout).tasks.map((t: { task: string }) => t.task)).to.deep.equal(['download', 'train', 'evaluate']);
      expect(logs(join(ws.dir, 'logs')))
        .to.contain('backend wasm')
        .and.match(/mlp/);
      const metrics = readJson(join(ws.dir, 'metrics', 'metrics.json'));
      expect(metrics.accuracy).to.be.greaterThan(0.85);
      for (const f of ['data/mnist-offline.npz', 'model/model.json', 'metrics/metrics.json']) expect(statSync(join(ws.dir, f)).uid, f).to.equal(process.getuid!());
    });

    it('run: export (ONNX checked on ONNX Runtime in the container) -> evaluate on ONNX Runtime (eval_config=evaluate-onnx.yaml)', async () => {
      const r = await mlcube([
        'run',
        '--mlcube=cubes/mnist',
        '--platform=docker',
        '--task=export,evaluate',
        `--workspace=${ws.dir}`,
        'eval_config=evaluate-onnx.yaml',
        '-Ptasks.evaluate.gates.test_accuracy.min=0.85',
        '-Ptasks.evaluate.gates.min_class_accuracy.min=0.7',
        '--json',
      ]);
      expect(r.exitCode, r.stderr).to.equal(0);
      // Side by side (both read the model, neither what the other writes): in the order they ended.
      expect(
        JSON.parse(r.stdout)
          .tasks.map((t: { task: string; release: string }) => [t.task, t.release])
          .sort(),
      ).to.deep.equal([
        ['evaluate', 'passed'],
        ['export', 'passed'],
      ]);
      const report = readJson(join(ws.dir, 'export', 'export.json'));
      expect(report.model_id).to.equal('mnist_mlp_v1');
      expect(report.check).to.include({ images: 1500, same_class: 1500, passed: true });
      expect(statSync(join(ws.dir, 'export', 'model.onnx')).size).to.equal(report.onnx.bytes);
      const metrics = readJson(join(ws.dir, 'metrics', 'metrics.json'));
      expect(metrics.backend).to.equal('onnx');
      expect(metrics.accuracy).to.be.greaterThan(0.85);
    });

    it("Dioptra's robustness workflow in containers, one command (robustness.yaml, quick configuration): the matrix", async () => {
      const rob = tempDir('mlcube-robustness-docker-');
      try {
        const r = await mlcube(['run', '--mlcube=cubes/mnist/robustness.yaml', '--platform=docker', `--workspace=${rob.dir}`, '-Pconfig_suffix=-quick', '--json']);
        expect(r.exitCode, r.stderr).to.equal(0);
        expect(
          JSON.parse(r.stdout)
            .tasks.map((t: { task: string }) => t.task)
            .sort(),
        ).to.deep.equal(['attack', 'download', 'infer_lenet', 'infer_shallow', 'report', 'train_lenet', 'train_shallow']);
        const matrix = readJson(join(rob.dir, 'robustness', 'report', 'matrix.json'));
        expect(matrix.models).to.deep.equal(['shallow', 'lenet5']);
        const white = (e: number) => matrix.cells.find((c: { source: string; target: string; eps: number }) => c.source === 'shallow' && c.target === 'shallow' && c.eps === e).accuracy;
        expect(white(0.3)).to.be.below(matrix.clean_accuracy.shallow / 2);
      } finally {
        rob.cleanup();
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
      expect(md).to.contain(`| ${card.evaluation_run} | evaluate | docker | sha256:${evaluate.cube.sha256} | - | ${MNIST_IMAGE} | ${evaluate.image.digest} |`);
    });

    it("the image carries the cube's production node_modules, without its dev dependencies and sources", async () => {
      const probe =
        "const r = require('node:module').createRequire('/cube/dist/main.js'); const at = (p) => { try { return r.resolve(p); } catch { return null; } };" +
        " console.log(JSON.stringify({ tfjs: at('@tensorflow/tfjs'), wasm: at('@tensorflow/tfjs-backend-wasm'), mnist: at('mnist/package.json'), src: require('node:fs').existsSync('/cube/src') }));";
      const found = JSON.parse(await inImage(MNIST_IMAGE, probe, true));
      expect(found.tfjs).to.match(/^\/cube\/node_modules\/@tensorflow\/tfjs\//);
      expect(found.wasm).to.match(/^\/cube\/node_modules\/@tensorflow\/tfjs-backend-wasm\//);
      expect([found.mnist, found.src]).to.deep.equal([null, false]);
    });

    it('the template cube (mlcube create) configures and runs on it too', async () => {
      const t = tempDir();
      try {
        const dir = JSON.parse((await mlcube(['create', '--name=offline-cube', '--json'], { cwd: t.dir })).stdout).dir;
        const c = await mlcube(['configure', `--mlcube=${dir}`, '--platform=docker', '-Pdocker.image=mlcube-test/offline-cube:0.0.1']);
        expect(c.exitCode, c.stderr).to.equal(0);
        expect(c.stderr).to.not.contain('making');
        const r = await mlcube(['run', `--mlcube=${dir}`, '--platform=docker', '-Pdocker.image=mlcube-test/offline-cube:0.0.1', '--task=greet']);
        expect(r.exitCode, r.stderr).to.equal(0);
        expect(readFileSync(join(dir, 'workspace', 'greetings', 'greeting.txt'), 'utf8')).to.equal('Hello, Alice!\n');
      } finally {
        t.cleanup();
        await docker
          .getImage('mlcube-test/offline-cube:0.0.1')
          .remove({ force: true })
          .catch(() => undefined);
      }
    });

    it('a base image that is missing and cannot be pulled: exit 4 naming it, its FROM line and the base image to make here', async () => {
      const t = tempDir();
      try {
        const dir = JSON.parse((await mlcube(['create', '--name=nobase', '--json'], { cwd: t.dir })).stdout).dir;
        const r = await mlcube(['configure', `--mlcube=${dir}`, '--platform=docker', '-Pdocker.image=mlcube-test/nobase:0.0.1', '-Pdocker.build_args.BASE=mlcube-test/no-such-base:1']);
        expect(r.exitCode, r.stderr).to.equal(4);
        expect(r.stderr).to.contain(
          `MLCUBE_IMAGE_FAILED: ${join(dir, 'Dockerfile')}:5: building image mlcube-test/nobase:0.0.1 failed: its base image mlcube-test/no-such-base:1 is not in the local Docker daemon and could not be pulled`,
        );
        expect(r.stderr).to.contain(`fix: Make a base image on this machine with \`mlcube base-image\` (no registry needed) and build on it: -Pdocker.build_args.BASE=${NODE_BASE}`);
      } finally {
        t.cleanup();
      }
    });
  });

  describe('a Python cube: test/fixtures/cubes/python', () => {
    let cube: { dir: string; cleanup: () => void };
    before(() => (cube = copyFixture('python')));
    after(() => cube?.cleanup());

    it(`mlcube base-image --debian --packages=python3,python3-numpy makes ${PYTHON_BASE}, the Dockerfile's FROM, and reuses it when asked again`, async () => {
      const started = Date.now();
      const b = await mlcube(['base-image', '--debian', '--packages=python3,python3-numpy']);
      expect(b.exitCode, b.stderr).to.equal(0);
      expect(b.stdout.split(' ')[0]).to.equal(PYTHON_BASE);
      console.log(`      ${PYTHON_BASE}: made in ${seconds(started)}, ${await size(PYTHON_BASE)}`);
      expect(await inImage(PYTHON_BASE, 'python3 -c "import numpy; print(numpy.__name__)"')).to.equal('numpy');
      const again = await mlcube(['base-image', '--debian', '--packages=python3-numpy,python3']);
      expect(again.exitCode, again.stderr).to.equal(0);
      expect(again.stderr).to.contain(`reusing ${PYTHON_BASE}`);
      expect(again.stdout).to.equal(b.stdout);
    });

    it('configure builds the cube (a RUN step in /bin/sh) and run sums the numbers with numpy in a container', async () => {
      const c = await mlcube(['configure', `--mlcube=${cube.dir}`, '--platform=docker']);
      expect(c.exitCode, c.stderr).to.equal(0);
      expect(c.stderr).to.contain(`built ${PYTHON_IMAGE}`).and.not.contain('making');
      const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=docker', '--task=sum']);
      expect(r.exitCode, r.stderr).to.equal(0);
      const numbers = readFileSync(join(cube.dir, 'workspace', 'numbers.txt'), 'utf8')
        .trim()
        .split('\n')
        .map(Number);
      const [sum, word, version] = readFileSync(join(cube.dir, 'workspace', 'out', 'sum.txt'), 'utf8')
        .trim()
        .split(' ');
      expect([Number(sum), word]).to.deep.equal([numbers.reduce((a, b) => a + b, 0), 'numpy']);
      expect(version).to.equal(await inImage(PYTHON_BASE, 'python3 -c "import numpy; print(numpy.__version__)"'));
    });
  });

  describe('base-image errors', () => {
    it('without mmdebstrap: exit 3, saying how to install it', async () => {
      const bin = tempDir('mlcube-path-');
      try {
        mkdirSync(join(bin.dir, 'bin'));
        symlinkSync(process.execPath, join(bin.dir, 'bin', 'node'));
        const r = await mlcube(['base-image', '--debian', '--tag=mlcube-test/never-made:1'], { env: { PATH: join(bin.dir, 'bin') } });
        expect(r.exitCode, r.stderr).to.equal(3);
        expect(r.stderr).to.contain('MLCUBE_RUNTIME_MISSING: making mlcube-test/never-made:1 needs mmdebstrap, which is not installed').and.contain('fix: Install it: apt-get install mmdebstrap');
      } finally {
        bin.cleanup();
      }
    });

    it('a package name that is not one: exit 2, before anything is made', async () => {
      const bad = await mlcube(['base-image', '--debian', '--packages=python3,Numpy']);
      expect(bad.exitCode, bad.stderr).to.equal(2);
      expect(bad.stderr).to.contain('MLCUBE_USAGE: parameter "--packages": "Numpy" is not a Debian package name');
    });
  });
});

/** Every log file of a directory, concatenated. */
function logs(dir: string): string {
  return readdirSync(dir)
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('\n');
}
