import { expect } from 'chai';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { mlcube, REPO, tempDir } from '../helpers/cli.js';

/**
 * The README's main job in a copy of the repository's layout: `npm start` there writes its records into the copy, not
 * into this checkout (whose `npm start` results, if any, stay as they are). The cube file and its workspace's files
 * are copied; everything else of the cube (built code, node_modules) and the root's `dist/` and package.json are linked.
 */
function mainJobCopy(): { dir: string; cube: string; cleanup: () => void } {
  const t = tempDir('mlcube-main-job-');
  const cube = join(t.dir, 'cubes', 'mnist');
  mkdirSync(join(cube, 'workspace'), { recursive: true });
  for (const e of readdirSync(join(REPO, 'cubes', 'mnist'))) if (e !== 'workspace' && e !== 'mlcube.yaml') symlinkSync(join(REPO, 'cubes', 'mnist', e), join(cube, e));
  copyFileSync(join(REPO, 'cubes', 'mnist', 'mlcube.yaml'), join(cube, 'mlcube.yaml'));
  // The workspace's own files (inputs, the built offline data set), not what an earlier run put there.
  for (const e of readdirSync(join(REPO, 'cubes', 'mnist', 'workspace'))) {
    if (statSync(join(REPO, 'cubes', 'mnist', 'workspace', e)).isFile()) copyFileSync(join(REPO, 'cubes', 'mnist', 'workspace', e), join(cube, 'workspace', e));
  }
  // A one-epoch MLP keeps the suite fast; the command line, the chain and the records are those of the default cnn.
  writeFileSync(join(cube, 'workspace', 'train.yaml'), 'model: mlp\noptimizer: adam\nlearning_rate: 0.001\ntrain_epochs: 1\nbatch_size: 64\nvalidation_split: 0.05\nseed: 42\n');
  for (const e of ['dist', 'package.json']) symlinkSync(join(REPO, e), join(t.dir, e));
  return { dir: t.dir, cube, cleanup: t.cleanup };
}

describe("the main job (npm start: MNIST download -> train -> export -> evaluate, then the model card) gives four linked, verifiable records in the cube's workspace", function () {
  it('`mlcube runs list --mlcube=cubes/mnist` lists the four runs of `npm start`; each verifies; the chain renders as DOT; the card verifies', async () => {
    const repo = mainJobCopy();
    const keys = tempDir('mlcube-keys-');
    try {
      expect((await mlcube(['keys', 'generate', `--dir=${keys.dir}`])).exitCode).to.equal(0);
      const env = { MLCUBE_SIGNING_KEY: join(keys.dir, 'signing.key'), MLCUBE_SYSTEM_SETTINGS: join(tmpdir(), 'mlcube-test-no-settings.yaml') };
      // npm start's own two commands (package.json), run as its shell would; the quick model misses the cube's accuracy
      // gates, so the run's are lowered as the README's quick command does (npm would append them to the card's).
      const lowered = ['-Ptasks.evaluate.gates.test_accuracy.min=0.85', '-Ptasks.evaluate.gates.min_class_accuracy.min=0.7'];
      const script: string = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).scripts.start;
      const [runCmd, cardCmd, ...more] = script.split(' && ');
      expect([runCmd.startsWith('node dist/mlcube.cjs run '), cardCmd?.startsWith('node dist/mlcube.cjs card '), more]).to.deep.equal([true, true, []]);
      const words = (cmd: string) => cmd.split(' ').slice(1);
      const start = await execa('node', [...words(runCmd), ...lowered], { cwd: repo.dir, env, reject: false });
      expect(start.exitCode, start.stderr).to.equal(0);
      const card = await execa('node', [...words(cardCmd), '--json'], { cwd: repo.dir, env, reject: false });
      expect(card.exitCode, card.stderr).to.equal(0);
      expect(JSON.parse(card.stdout)).to.include({ release: 'passed', verified: true });
      expect(existsSync(join(repo.cube, 'workspace', 'model-card', 'model-card.html'))).to.equal(true);

      const table = await mlcube(['runs', 'list', '--mlcube=cubes/mnist'], { cwd: repo.dir });
      expect(table.exitCode, table.stderr).to.equal(0);
      const rows = table.stdout.trim().split('\n').slice(1);
      // Listed by start: export and evaluate both wait for train only, and start side by side in either order.
      const listed = rows.map((l) => l.split(/\s+/).slice(1, 3));
      expect(listed.slice(0, 2)).to.deep.equal([
        ['download', 'succeeded'],
        ['train', 'succeeded'],
      ]);
      expect(listed.slice(2).sort()).to.deep.equal([
        ['evaluate', 'succeeded'],
        ['export', 'succeeded'],
      ]);
      // The same runs from elsewhere, by the cube's absolute path.
      const list = await mlcube(['runs', 'list', `--mlcube=${repo.cube}`, '--json'], { cwd: tmpdir() });
      const { workspace, runs } = JSON.parse(list.stdout);
      expect(workspace).to.equal(join(repo.cube, 'workspace'));
      expect(runs.map((x: { task: string }) => x.task).sort()).to.deep.equal(['download', 'evaluate', 'export', 'train']);
      expect(runs.find((x: { task: string }) => x.task === 'evaluate').consumed).to.have.length(2);
      const ids: string[] = runs.map((x: { run_id: string }) => x.run_id);

      const where = `--mlcube=${repo.cube}`;
      for (const id of ids) {
        const v = await mlcube(['provenance', 'verify', id, where], { env });
        expect(v.exitCode, `${id}: ${v.stdout}${v.stderr}`).to.equal(0);
        expect(v.stdout).to.contain(`workspace ${join(repo.cube, 'workspace')}`);
      }
      const byTask = Object.fromEntries(runs.map((x: { task: string; run_id: string }) => [x.task, x.run_id]));
      // export ran beside evaluate and may have ended last: the card is evaluate's, the run that wrote metrics.
      expect(JSON.parse(card.stdout).evaluation_run).to.equal(byTask.evaluate);
      const dot = (await mlcube(['provenance', 'export', where, '--format=dot'])).stdout;
      expect(dot).to.match(/^digraph/);
      expect(dot).to.contain(`"run:${byTask.train}" -> "run:${byTask.download}"`);
      expect(dot).to.contain(`"run:${byTask.evaluate}" -> "run:${byTask.train}"`);
      const graph = JSON.parse((await mlcube(['provenance', 'export', where])).stdout);
      const kinds = new Set(graph.nodes.filter((n: { node: string }) => n.node === 'artifact').map((n: { kind: string }) => n.kind));
      expect([...kinds].sort()).to.deep.equal(['code', 'config', 'dataset', 'metrics', 'model']);
      const model = graph.nodes.find((n: { node: string; paths?: string[] }) => n.node === 'artifact' && n.paths?.includes('model'));
      expect(graph.edges).to.deep.include({ from: model.id, to: `run:${byTask.train}`, relation: 'wasGeneratedBy', parameter: 'model_dir' });
      expect(graph.edges).to.deep.include({ from: `run:${byTask.evaluate}`, to: model.id, relation: 'used', parameter: 'model_dir' });
      const compare = JSON.parse((await mlcube(['runs', 'compare', ...ids, where, '--json'])).stdout);
      expect(JSON.stringify(compare)).to.match(/accuracy/);
      // export and evaluate ran side by side: the latest to start is either; evaluate by its id (a unique suffix of it).
      const latest = JSON.parse((await mlcube(['runs', 'show', 'latest', '--mlcube=cubes/mnist'], { cwd: repo.dir })).stdout);
      expect(latest.run_id).to.be.oneOf([byTask.evaluate, byTask.export]);
      const shown = JSON.parse((await mlcube(['runs', 'show', byTask.evaluate.slice(-6), '--mlcube=cubes/mnist'], { cwd: repo.dir })).stdout);
      expect(shown.run_id).to.equal(byTask.evaluate);
      // The cube's four release gates were judged on evaluate, with the thresholds the command line lowered.
      expect(shown.gates.release).to.equal('passed');
      expect(shown.gates.results.map((g: { name: string; threshold: number }) => `${g.name} ${g.threshold}`)).to.deep.equal([
        'test_accuracy 0.85',
        'min_class_accuracy 0.7',
        'model_size 10000000',
        'latency_ms_batch1 50',
      ]);
    } finally {
      repo.cleanup();
      keys.cleanup();
    }
  });
});
