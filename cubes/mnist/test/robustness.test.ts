import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './helpers.js';

// dist-test/test -> the cube's directory, and the repository (whose dist/mlcube.cjs is the runtime) around it
const CUBE = resolve(fileURLToPath(import.meta.url), '../../..');
const ROOT = resolve(CUBE, '../..');
const CLI = join(ROOT, 'dist', 'mlcube.cjs');

const mlcube = (args: string[], env: Record<string, string>) =>
  spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, MLCUBE_SYSTEM_SETTINGS: join(ROOT, 'no-such-settings.yaml'), ...env }, timeout: 300_000 });

interface Cell {
  source: string;
  target: string;
  eps: number;
  accuracy: number;
  attack_success_rate: number | null;
  white_box: boolean;
}

describe('mnist cube: robustness.yaml end to end through the mlcube CLI (quick configuration, bundled data)', function () {
  this.timeout(600_000);

  it('two trainings, the attack from both models, both inferences and the report: the matrix, its metric rows, the card plot', function () {
    if (!existsSync(CLI)) {
      console.log(`      skipped: ${CLI} is not built (npm run build at the repository root)`);
      this.skip();
    }
    const ws = tempDir('mnist-robustness-');
    const keys = tempDir('mnist-robustness-keys-');
    try {
      expect(mlcube(['keys', 'generate', `--dir=${keys.dir}`], {}).status).to.equal(0);
      const env = { MLCUBE_SIGNING_KEY: join(keys.dir, 'signing.key') };
      // The one command of README "Robustness": no --task, the task graph orders the seven tasks from their data.
      const run = mlcube(['run', `--mlcube=${join(CUBE, 'robustness.yaml')}`, '--platform=local', `--workspace=${ws.dir}`, '-Pconfig_suffix=-quick'], env);
      expect(run.status, run.stderr.slice(-3000)).to.equal(0);
      // The quick configurations were the ones used.
      expect(readFileSync(join(ws.dir, 'logs', 'attack.log'), 'utf8')).to.match(/fgm \(L∞, untargeted\) with eps 0\.1, 0\.2, 0\.3 on 300 test images/);
      for (const t of ['train_shallow', 'train_lenet'])
        expect(
          readFileSync(join(ws.dir, 'logs', `${t}-metrics.jsonl`), 'utf8')
            .trim()
            .split('\n'),
          t,
        ).to.have.length(t === 'train_shallow' ? 2 : 1);

      const manifest = JSON.parse(readFileSync(join(ws.dir, 'adversarial', 'manifest.json'), 'utf8'));
      expect(manifest.sets.map((s: { file: string }) => s.file)).to.deep.equal(['shallow', 'lenet5'].flatMap((m) => [0.1, 0.2, 0.3].map((e) => `${m}/fgm-eps${e}.npz`)));

      const matrix = JSON.parse(readFileSync(join(ws.dir, 'robustness', 'report', 'matrix.json'), 'utf8'));
      expect(matrix).to.include({ format: 'mnist-robustness-matrix/v1', attack: 'fgm', images: 300 });
      expect([matrix.models, matrix.eps]).to.deep.equal([
        ['shallow', 'lenet5'],
        [0.1, 0.2, 0.3],
      ]);
      const cells = matrix.cells as Cell[];
      expect(cells.map((c) => `${c.source}>${c.target}@${c.eps}`)).to.deep.equal(
        ['shallow', 'lenet5'].flatMap((s) => ['shallow', 'lenet5'].flatMap((t) => [0.1, 0.2, 0.3].map((e) => `${s}>${t}@${e}`))),
      );
      for (const c of cells) {
        expect(c.white_box, JSON.stringify(c)).to.equal(c.source === c.target);
        expect(c.accuracy).to.be.within(0, 1);
        expect(c.attack_success_rate).to.be.within(0, 1);
      }
      for (const m of matrix.models) expect(matrix.clean_accuracy[m], m).to.be.above(0.6);
      // The shallow network's white-box accuracy falls with eps, far below its clean accuracy.
      const white = cells.filter((c) => c.source === 'shallow' && c.target === 'shallow').map((c) => c.accuracy);
      expect(white[0]).to.be.below(matrix.clean_accuracy.shallow);
      expect(white[1]).to.be.below(white[0]);
      expect(white[2]).to.be.below(Math.min(white[1], 0.2));

      // Metric rows in the report's run record, as gates and the card read them.
      const runs = join(ws.dir, '.mlcube', 'runs');
      const record = (task: string) =>
        JSON.parse(
          readFileSync(
            join(
              runs,
              readdirSync(runs).find((d) => d.includes(`-${task}-`))!,
              'record.json',
            ),
            'utf8',
          ),
        );
      const final = record('report').metrics.final;
      for (const c of cells) {
        expect(final[`adv_accuracy_${c.source}_to_${c.target}_eps${c.eps}`]).to.equal(c.accuracy);
        expect(final[`attack_success_rate_${c.source}_to_${c.target}_eps${c.eps}`]).to.equal(c.attack_success_rate);
      }
      expect(final.clean_accuracy_lenet5).to.equal(matrix.clean_accuracy.lenet5);
      // Lineage: the attack read the models the trainings made; the inferences read the attack's sets.
      const producers = (task: string) => record(task).lineage.map((l: { input: string; run_id: string }) => `${l.input}<${l.run_id.replace(/^.*Z-(.*)-[0-9a-f]+$/, '$1')}`);
      expect(producers('attack')).to.include.members(['model_shallow<train_shallow', 'model_lenet5<train_lenet', 'data_dir<download']);
      expect(producers('infer_lenet')).to.include.members(['adversarial_dir<attack', 'model_lenet5<train_lenet']);

      // The card of the last evaluation (infer_lenet, LeNet-5 as the target): accuracy vs eps from its metric rows.
      const card = mlcube(['card', `--mlcube=${join(CUBE, 'robustness.yaml')}`, `--workspace=${ws.dir}`, '--json'], env);
      expect(card.status, card.stderr).to.equal(0);
      const doc = JSON.parse(card.stdout);
      expect(doc).to.include({ verified: true });
      expect(doc.files).to.include(join(doc.out_dir, 'robustness.png'));
      const md = readFileSync(join(doc.out_dir, 'model-card.md'), 'utf8');
      expect(md).to.contain('![Accuracy vs ε](robustness.png)');
      const lenet = cells.find((c) => c.source === 'shallow' && c.target === 'lenet5' && c.eps === 0.3)!;
      expect(md).to.contain(`| shallow | lenet5 | 0.3 | ${lenet.accuracy} |`);
    } finally {
      ws.cleanup();
      keys.cleanup();
    }
  });
});
