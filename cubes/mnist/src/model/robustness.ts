import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CubeError } from '../errors.js';

/** One cell of the transferability matrix: a target model scored on the adversarial set of a source model and eps. */
export interface Cell {
  source: string;
  target: string;
  attack: 'fgm' | 'pgd';
  eps: number;
  /** Fraction of the adversarial images the target classifies correctly. */
  accuracy: number;
  /** Of the images the target classifies correctly when clean, the fraction it misclassifies perturbed; null: none were correct. */
  attack_success_rate: number | null;
  /** The source is the target (the attack saw this model's gradients). */
  white_box: boolean;
}

/** What an inference task writes (`<scores_dir>/scores.json`): one target model against every adversarial set. */
export interface Scores {
  format: typeof SCORES_FORMAT;
  target: string;
  model_id: string | null;
  images: number;
  clean_accuracy: number;
  cells: Cell[];
}

export const SCORES_FORMAT = 'mnist-robustness-scores/v1';
export const SCORES_FILE = 'scores.json';

/**
 * The metric rows of robustness scores (README "Robustness"): clean_accuracy_<target>,
 * adv_accuracy_<source>_to_<target>_eps<eps> and attack_success_rate_<source>_to_<target>_eps<eps>.
 */
export function robustnessMetrics(all: readonly Scores[]): Record<string, number | null> {
  const rows: Record<string, number | null> = {};
  for (const s of all) {
    rows[`clean_accuracy_${s.target}`] = s.clean_accuracy;
    for (const c of s.cells) {
      rows[`adv_accuracy_${c.source}_to_${c.target}_eps${c.eps}`] = c.accuracy;
      rows[`attack_success_rate_${c.source}_to_${c.target}_eps${c.eps}`] = c.attack_success_rate;
    }
  }
  return rows;
}

/** Reads `<dir>/scores.json` as an inference task wrote it. */
export function readScores(dir: string): Scores {
  const file = join(dir, SCORES_FILE);
  let s: Scores;
  try {
    s = JSON.parse(readFileSync(file, 'utf8')) as Scores;
  } catch (err) {
    throw new CubeError({
      place: file,
      problem: `cannot read the scores (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      fix: 'run the inference task with this scores_dir first',
    });
  }
  if (s?.format !== SCORES_FORMAT || !Array.isArray(s.cells)) {
    throw new CubeError({ place: file, problem: 'not robustness scores', found: `format ${String(s?.format)}`, expected: SCORES_FORMAT, fix: 'run the inference task again' });
  }
  return s;
}
