import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CubeError } from '../errors.js';
import type { Logger } from '../log.js';
import { reportMetrics } from '../metrics.js';
import { readScores, robustnessMetrics, type Cell } from '../model/robustness.js';

export interface ReportParams {
  /** The inference tasks' scores directories, by target name (parameters scores_<name>). */
  scores: { name: string; path: string }[];
  reportDir: string;
}

/** The transferability matrix (`<report_dir>/matrix.json`, README "Robustness"). */
export interface Matrix {
  format: typeof MATRIX_FORMAT;
  attack: Cell['attack'];
  images: number;
  models: string[];
  eps: number[];
  clean_accuracy: Record<string, number>;
  /** Every source × target × eps, sorted in that order. */
  cells: Cell[];
}

export const MATRIX_FORMAT = 'mnist-robustness-matrix/v1';
export const MATRIX_FILE = 'matrix.json';

/** The report task: the inference tasks' scores merged into one matrix (source × target × eps) and its metric rows. */
export async function runReport(params: ReportParams, log: Logger): Promise<Matrix> {
  const all = params.scores.map((p) => {
    const s = readScores(p.path);
    if (s.target !== p.name) {
      throw new CubeError({
        place: join(p.path, 'scores.json'),
        problem: 'scores of another model',
        found: s.target,
        expected: `${p.name} (its parameter scores_${p.name})`,
        fix: 'point scores_<name> at the inference task of that model',
      });
    }
    return s;
  });
  const images = new Set(all.map((s) => s.images));
  const attacks = new Set(all.flatMap((s) => s.cells.map((c) => c.attack)));
  if (images.size !== 1 || attacks.size !== 1) {
    throw new CubeError({
      place: `task report`,
      problem: 'the scores come from different attacks',
      found: `${[...images].join(', ')} images; attacks ${[...attacks].join(', ')}`,
      expected: 'one attack task',
      fix: 'run the inference tasks on the same adversarial_dir',
    });
  }
  const models = [...new Set([...all.flatMap((s) => s.cells.map((c) => c.source)), ...all.map((s) => s.target)])];
  const eps = [...new Set(all.flatMap((s) => s.cells.map((c) => c.eps)))].sort((a, b) => a - b);
  const cells = all.flatMap((s) => s.cells).sort((a, b) => models.indexOf(a.source) - models.indexOf(b.source) || models.indexOf(a.target) - models.indexOf(b.target) || a.eps - b.eps);
  const matrix: Matrix = {
    format: MATRIX_FORMAT,
    attack: [...attacks][0],
    images: [...images][0],
    models,
    eps,
    clean_accuracy: Object.fromEntries(all.map((s) => [s.target, s.clean_accuracy])),
    cells,
  };
  reportMetrics(robustnessMetrics(all));
  mkdirSync(params.reportDir, { recursive: true });
  writeFileSync(join(params.reportDir, MATRIX_FILE), `${JSON.stringify(matrix, null, 2)}\n`);
  for (const c of cells) log.info(`${c.source} -> ${c.target} eps ${c.eps}: accuracy ${(c.accuracy * 100).toFixed(2)}%${c.white_box ? ' (white box)' : ''}`);
  log.info(`matrix of ${models.length} models x ${eps.length} eps written to ${join(params.reportDir, MATRIX_FILE)}`);
  return matrix;
}
