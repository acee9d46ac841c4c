import { UsageError } from '../errors.js';

/** A run's place in a sweep (README "Sweeps and experiments"): point null for the tasks the points share. */
export interface SweepLabel {
  id: string;
  point: number | null;
  values: Record<string, string | number | boolean | null>;
}

/** What a run is filed under: recorded (record.experiment, record.tags, record.sweep) and signed with it. */
export interface RunLabels {
  experiment: string | null;
  tags: Record<string, string>;
  sweep?: SweepLabel;
}

/** Env var: the labels a batch job's own `mlcube run` records its tasks with (JSON of RunLabels), set by the job script. */
export const RUN_LABELS_ENV = 'MLCUBE_RUN_LABELS';

const isStringMap = (v: unknown): v is Record<string, string> => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');

/** The labels the job environment carries; none set: undefined. Malformed: a UsageError (exit 2) before anything runs. */
export function runLabelsFromEnv(env: Record<string, string | undefined>): RunLabels | undefined {
  const text = env[RUN_LABELS_ENV];
  if (text === undefined || text === '') return undefined;
  let v: Partial<RunLabels> | undefined;
  try {
    v = JSON.parse(text) as Partial<RunLabels>;
  } catch {
    v = undefined;
  }
  const s = v?.sweep;
  const sweepOk = s === undefined || (typeof s.id === 'string' && (s.point === null || Number.isInteger(s.point)) && typeof s.values === 'object' && s.values !== null);
  if (!v || !(v.experiment === null || typeof v.experiment === 'string') || !isStringMap(v.tags) || !sweepOk) {
    throw new UsageError(`$${RUN_LABELS_ENV} is not the JSON of a run's labels ({"experiment": NAME or null, "tags": {K: V}, "sweep": {...}}): ${text.slice(0, 200)}`, {
      suggestions: [`Unset ${RUN_LABELS_ENV} (mlcube sets it for batch jobs); give --experiment and --tag instead.`],
    });
  }
  return { experiment: v.experiment, tags: v.tags, ...(s ? { sweep: s } : {}) };
}
