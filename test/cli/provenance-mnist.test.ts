import { expect } from 'chai';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mlcube, REPO, tempDir } from '../helpers/cli.js';

describe('provenance of the MNIST chain: download -> train -> evaluate gives three linked, verifiable records', function () {
  it('records, links by digest, verifies each run and renders the chain as DOT', async () => {
    const ws = tempDir('mlcube-mnist-prov-');
    const keys = tempDir('mlcube-keys-');
    try {
      for (const f of ['data.yaml', 'mnist-offline.npz']) copyFileSync(join(REPO, 'workspace', 'mnist', f), join(ws.dir, f));
      // A one-epoch MLP keeps the suite fast; the chain and the records are the same as for the default cnn.
      writeFileSync(join(ws.dir, 'train.yaml'), 'model: mlp\noptimizer: adam\nlearning_rate: 0.001\ntrain_epochs: 1\nbatch_size: 64\nvalidation_split: 0.05\nseed: 42\n');
      expect((await mlcube(['keys', 'generate', `--dir=${keys.dir}`])).exitCode).to.equal(0);
      const env = { MLCUBE_SIGNING_KEY: join(keys.dir, 'signing.key') };
      const r = await mlcube(['run', '--mlcube=cubes/mnist', '--platform=local', '--task=download,train,evaluate', `--workspace=${ws.dir}`, '--json'], { env });
      expect(r.exitCode, r.stderr).to.equal(0);
      const ids: string[] = JSON.parse(r.stdout).tasks.map((t: { runId: string }) => t.runId);
      expect(ids).to.have.length(3);
      for (const id of ids) {
        const v = await mlcube(['provenance', 'verify', id, `--workspace=${ws.dir}`], { env });
        expect(v.exitCode, `${id}: ${v.stdout}${v.stderr}`).to.equal(0);
      }
      const runs = JSON.parse((await mlcube(['runs', 'list', `--workspace=${ws.dir}`, '--json'])).stdout).runs;
      expect(runs.map((x: { task: string }) => x.task)).to.deep.equal(['download', 'train', 'evaluate']);
      expect(runs.find((x: { task: string }) => x.task === 'evaluate').consumed).to.have.length(2);
      const byTask = Object.fromEntries(runs.map((x: { task: string; run_id: string }) => [x.task, x.run_id]));
      const dot = (await mlcube(['provenance', 'export', `--workspace=${ws.dir}`, '--format=dot'])).stdout;
      expect(dot).to.match(/^digraph/);
      expect(dot).to.contain(`"run:${byTask.train}" -> "run:${byTask.download}"`);
      expect(dot).to.contain(`"run:${byTask.evaluate}" -> "run:${byTask.train}"`);
      const graph = JSON.parse((await mlcube(['provenance', 'export', `--workspace=${ws.dir}`])).stdout);
      const kinds = new Set(graph.nodes.filter((n: { node: string }) => n.node === 'artifact').map((n: { kind: string }) => n.kind));
      expect([...kinds].sort()).to.deep.equal(['code', 'config', 'dataset', 'metrics', 'model']);
      const model = graph.nodes.find((n: { node: string; paths?: string[] }) => n.node === 'artifact' && n.paths?.includes('model'));
      expect(graph.edges).to.deep.include({ from: model.id, to: `run:${byTask.train}`, relation: 'wasGeneratedBy', parameter: 'model_dir' });
      expect(graph.edges).to.deep.include({ from: `run:${byTask.evaluate}`, to: model.id, relation: 'used', parameter: 'model_dir' });
      const compare = JSON.parse((await mlcube(['runs', 'compare', ...ids, `--workspace=${ws.dir}`, '--json'])).stdout);
      expect(JSON.stringify(compare)).to.match(/accuracy/);
    } finally {
      ws.cleanup();
      keys.cleanup();
    }
  });
});
