import type { GateReport } from '../gates/evaluate.js';
import type { RecordedParam, RunRecord } from '../provenance/record.js';

/**
 * What a model card says, derived from run records only (README "Model cards"): nothing here is measured or
 * guessed; a metric the runs did not report is `null` and the card says "not reported".
 */
export interface CardData {
  title: string;
  evaluation: RunRef;
  /** The run that produced the model the evaluation read (its lineage); null when none was recorded. */
  training: RunRef | null;
  /** Runs whose records did not verify (only with --unverified): each with its problems. */
  unverified: { run_id: string; problems: string[] }[];
  model: Artifact[];
  data: Artifact[];
  code: CodeIdentity[];
  config: ConfigFile[];
  metrics: { run_id: string; task: string; final: Record<string, number | string> }[];
  gates: { run_id: string; task: string; report: GateReport }[];
  /** passed only when at least one run had gates and every run's release passed; null: no gates declared. */
  release: 'passed' | 'failed' | null;
  perClass: { label: string; accuracy: number }[] | null;
  confusion: { matrix: number[][]; source: string } | null;
  curves: { accuracy: CurvePoint[] | null; loss: CurvePoint[] | null };
  /** Accuracy on adversarial test sets, when the evaluation run reported them (a robustness evaluation); else null. */
  robustness: RobustnessPoint[] | null;
}

/** One point of an accuracy-vs-eps line: the target model on the source model's adversarial set of budget eps. */
export interface RobustnessPoint {
  source: string;
  target: string;
  eps: number;
  accuracy: number;
  /** null: not reported, or eps 0 (the clean images). */
  attack_success_rate: number | null;
}

export interface RunRef {
  run_id: string;
  task: string;
  status: string;
  started_at: string;
}

export interface Artifact {
  run_id: string;
  io: 'input' | 'output';
  name: string;
  path: string;
  algorithm: string | null;
  sha256: string | null;
}

export interface CodeIdentity {
  run_id: string;
  task: string;
  runner: string;
  cube_file_sha256: string;
  code_sha256: string | null;
  image: string | null;
  image_digest: string | null;
}

export interface ConfigFile {
  run_id: string;
  name: string;
  path: string;
  sha256: string | null;
  /** The file's text; null with `why` when it could not be shown. */
  text: string | null;
  why?: string;
}

export interface CurvePoint {
  epoch: number;
  split: 'training' | 'validation';
  value: number;
}

/** Metric names the card reads (README "Model cards"): the same names give any cube the same card. */
export const CURVES = {
  accuracy: { training: 'accuracy', validation: 'val_accuracy' },
  loss: { training: 'loss', validation: 'val_loss' },
} as const;
export const PER_CLASS_PREFIX = 'test_accuracy_class_';
export const CONFUSION_KEY = 'confusion_matrix';
/** adv_accuracy_<source>_to_<target>_eps<eps>, attack_success_rate_<...>, clean_accuracy_<target> (README "Robustness"). */
export const ROBUSTNESS_METRIC = /^adv_accuracy_([a-z][a-z0-9]*)_to_([a-z][a-z0-9]*)_eps(\d+(?:\.\d+)?)$/;
export const SUCCESS_PREFIX = 'attack_success_rate_';
export const CLEAN_PREFIX = 'clean_accuracy_';

export interface CardInputs {
  evaluation: RunRecord;
  training: RunRecord | null;
  unverified: { run_id: string; problems: string[] }[];
  /** Found by the caller in the evaluation's metrics outputs (a JSON key, read from verified files). */
  confusion: { matrix: number[][]; source: string } | null;
  /** The training run's config inputs, read by the caller. */
  config: ConfigFile[];
}

const ref = (r: RunRecord): RunRef => ({ run_id: r.run_id, task: r.task, status: r.status, started_at: r.started_at });
const artifact = (r: RunRecord, p: RecordedParam): Artifact => ({
  run_id: r.run_id,
  io: p.io,
  name: p.name,
  path: p.path,
  algorithm: p.digest?.algorithm ?? null,
  sha256: p.digest?.sha256 ?? null,
});

/** One curve: the rows of a metric with a step, one point per step (the last row written for a step wins). */
function curve(r: RunRecord | null, names: { training: string; validation: string }): CurvePoint[] | null {
  if (!r) return null;
  const points = new Map<string, CurvePoint>();
  for (const row of r.metrics.rows) {
    const split = row.name === names.training ? 'training' : row.name === names.validation ? 'validation' : undefined;
    if (!split || typeof row.step !== 'number' || typeof row.value !== 'number') continue;
    points.set(`${split}:${row.step}`, { epoch: row.step, split, value: row.value });
  }
  const out = [...points.values()].sort((a, b) => a.epoch - b.epoch || (a.split < b.split ? -1 : 1));
  return out.length ? out : null;
}

/** Per-class accuracy from the evaluation's final metrics `test_accuracy_class_<label>` (numbers only). */
function perClass(final: Record<string, number | string>): CardData['perClass'] {
  const rows = Object.entries(final)
    .filter(([k, v]) => k.startsWith(PER_CLASS_PREFIX) && k.length > PER_CLASS_PREFIX.length && typeof v === 'number')
    .map(([k, v]) => ({ label: k.slice(PER_CLASS_PREFIX.length), accuracy: v as number }));
  // Numeric labels in numeric order (2 before 10), others after them by name.
  rows.sort((a, b) => {
    const [x, y] = [Number(a.label), Number(b.label)];
    if (Number.isInteger(x) && Number.isInteger(y)) return x - y;
    return Number.isInteger(x) ? -1 : Number.isInteger(y) ? 1 : a.label < b.label ? -1 : 1;
  });
  return rows.length ? rows : null;
}

/**
 * The accuracy-vs-eps points of the evaluation's final metrics adv_accuracy_<source>_to_<target>_eps<eps> (numbers
 * only), with each line's eps 0 point from clean_accuracy_<target> when that was reported; null without any.
 */
function robustness(final: Record<string, number | string>): RobustnessPoint[] | null {
  const num = (k: string) => (typeof final[k] === 'number' ? (final[k] as number) : null);
  const points: RobustnessPoint[] = [];
  for (const [k, v] of Object.entries(final)) {
    const m = ROBUSTNESS_METRIC.exec(k);
    if (!m || typeof v !== 'number') continue;
    points.push({ source: m[1], target: m[2], eps: Number(m[3]), accuracy: v, attack_success_rate: num(`${SUCCESS_PREFIX}${k.slice('adv_accuracy_'.length)}`) });
  }
  const pairs = [...new Map(points.map((p) => [`${p.source}:${p.target}`, p])).values()];
  for (const p of pairs) {
    const clean = num(`${CLEAN_PREFIX}${p.target}`);
    if (clean !== null && !points.some((q) => q.source === p.source && q.target === p.target && q.eps === 0))
      points.push({ source: p.source, target: p.target, eps: 0, accuracy: clean, attack_success_rate: null });
  }
  points.sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : a.source < b.source ? -1 : a.source > b.source ? 1 : a.eps - b.eps));
  return points.length ? points : null;
}

/** The card's content from the evaluation run, the training run it consumed, and what the caller read for them. */
export function cardData(i: CardInputs): CardData {
  const runs = [i.training, i.evaluation].filter((r): r is RunRecord => r !== null);
  const gates = runs.filter((r) => r.gates).map((r) => ({ run_id: r.run_id, task: r.task, report: r.gates! }));
  const models = (i.training?.parameters ?? []).filter((p) => p.io === 'output' && p.kind === 'model').map((p) => artifact(i.training!, p));
  return {
    title: `Model card: ${i.evaluation.cube.name ?? 'cube'} (${i.training ? `${i.training.task} ${i.training.run_id}, ` : ''}${i.evaluation.task} ${i.evaluation.run_id})`,
    evaluation: ref(i.evaluation),
    training: i.training ? ref(i.training) : null,
    unverified: i.unverified,
    model: models.length ? models : i.evaluation.parameters.filter((p) => p.io === 'input' && p.kind === 'model').map((p) => artifact(i.evaluation, p)),
    data: runs.flatMap((r) => r.parameters.filter((p) => p.io === 'input' && p.kind === 'dataset').map((p) => artifact(r, p))),
    code: runs.map((r) => ({
      run_id: r.run_id,
      task: r.task,
      runner: r.runner,
      cube_file_sha256: r.cube.sha256,
      code_sha256: r.cube.code?.sha256 ?? null,
      image: r.image?.reference ?? null,
      image_digest: r.image?.digest ?? null,
    })),
    config: i.config,
    metrics: runs.map((r) => ({ run_id: r.run_id, task: r.task, final: r.metrics.final })),
    gates,
    release: gates.length === 0 ? null : gates.every((g) => g.report.release === 'passed') ? 'passed' : 'failed',
    perClass: perClass(i.evaluation.metrics.final),
    confusion: i.confusion,
    curves: { accuracy: curve(i.training, CURVES.accuracy), loss: curve(i.training, CURVES.loss) },
    robustness: robustness(i.evaluation.metrics.final),
  };
}

/** A confusion matrix as found in a metrics file: a non-empty square list of lists of non-negative integers. */
export function asConfusionMatrix(v: unknown): number[][] | undefined {
  if (!Array.isArray(v) || v.length === 0 || v.length > 1000) return undefined;
  const n = v.length;
  const ok = v.every((row) => Array.isArray(row) && row.length === n && row.every((x) => Number.isInteger(x) && x >= 0));
  return ok ? (v as number[][]) : undefined;
}
