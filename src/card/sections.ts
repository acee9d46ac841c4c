import { describeSource, type GateResult } from '../gates/evaluate.js';
import { formatBytes } from '../gates/units.js';
import type { Artifact, CardData } from './data.js';

/**
 * The card as a list of sections of plain cells, shared by the Markdown and the HTML writers (markdown.ts,
 * html.ts) so that both always say the same thing.
 */
export type Block = { kind: 'table'; head: string[]; rows: Row[] } | { kind: 'text'; text: string; strong?: boolean; alert?: boolean } | { kind: 'code'; text: string };

/** A table row; `failed` rows are the failed gates (shown in red, in capitals). */
export interface Row {
  cells: string[];
  failed?: boolean;
}

export interface Section {
  heading: string;
  blocks: Block[];
}

export const NOT_REPORTED = 'not reported';

const digest = (algorithm: string | null, sha256: string | null) => (sha256 ? `${algorithm}:${sha256}` : NOT_REPORTED);
const orNot = (rows: Row[], head: string[], what: string): Block => (rows.length ? { kind: 'table', head, rows } : { kind: 'text', text: `${what}: ${NOT_REPORTED}` });
/** A section listing artifacts (the model, the data) with their digests. */
const artifacts = (heading: string, list: readonly Artifact[], what: string): Section => ({
  heading,
  blocks: [
    orNot(
      list.map((a) => ({ cells: [a.run_id, `${a.io} ${a.name}`, a.path, digest(a.algorithm, a.sha256)] })),
      ['run', 'parameter', 'path', 'digest'],
      what,
    ),
  ],
});
const value = (kind: GateResult['kind'], v: number | string | null) => (v === null ? NOT_REPORTED : kind === 'size' && typeof v === 'number' ? formatBytes(v) : String(v));

/** The release line at the top of the card. */
export function releaseLine(d: CardData): Extract<Block, { kind: 'text' }> {
  if (d.release === null) return { kind: 'text', text: 'Release: no release gates were declared for these runs.', strong: true };
  if (d.release === 'passed') return { kind: 'text', text: 'Release: PASSED (every release gate passed).', strong: true };
  const failed = d.gates.flatMap((g) => g.report.results.filter((r) => r.outcome === 'failed').map((r) => `${r.name} (${r.reason})`));
  return { kind: 'text', text: `Release: FAILED. Failed gate${failed.length > 1 ? 's' : ''}: ${failed.join('; ')}.`, strong: true, alert: true };
}

export function cardSections(d: CardData): Section[] {
  const intro: Block[] = [releaseLine(d)];
  for (const u of d.unverified) intro.push({ kind: 'text', alert: true, strong: true, text: `UNVERIFIED: run ${u.run_id} does not verify (made with --unverified): ${u.problems.join('; ')}` });
  const runs = [d.training, d.evaluation].filter((r) => r !== null);
  return [
    {
      heading: 'Runs',
      blocks: [
        ...intro,
        {
          kind: 'table',
          head: ['role', 'task', 'run', 'status', 'started'],
          rows: runs.map((r) => ({ cells: [r === d.training ? 'training' : 'evaluation', r.task, r.run_id, r.status, r.started_at] })),
        },
      ],
    },
    artifacts('Model', d.model, 'model identity'),
    artifacts('Data', d.data, 'input data'),
    {
      heading: 'Code',
      blocks: [
        {
          kind: 'table',
          head: ['run', 'task', 'runner', 'cube file', 'cube code', 'image', 'image digest'],
          rows: d.code.map((c) => ({
            cells: [c.run_id, c.task, c.runner, `sha256:${c.cube_file_sha256}`, c.code_sha256 ? `mlcube-tree-v1:${c.code_sha256}` : '-', c.image ?? '-', c.image_digest ?? '-'],
          })),
        },
      ],
    },
    {
      heading: 'Training configuration',
      blocks: d.config.length
        ? d.config.flatMap((c): Block[] => [
            { kind: 'text', text: `${c.name}: ${c.path} (${digest('sha256', c.sha256)})` },
            c.text === null ? { kind: 'text', text: `content not shown: ${c.why}` } : { kind: 'code', text: c.text },
          ])
        : [{ kind: 'text', text: `training configuration: ${NOT_REPORTED}` }],
    },
    {
      heading: 'Final metrics',
      blocks: d.metrics.map((m) =>
        orNot(
          Object.entries(m.final).map(([k, v]) => ({ cells: [k, String(v)] })),
          [`${m.task} (${m.run_id})`, 'value'],
          `metrics of ${m.task} (${m.run_id})`,
        ),
      ),
    },
    ...(d.robustness
      ? [
          {
            heading: 'Robustness',
            blocks: [
              {
                kind: 'text',
                text: 'Accuracy of each target model on the adversarial test sets of each source model (eps 0: the clean test images); attack success rate: of the images the target classifies correctly when clean, the fraction it misclassifies perturbed.',
              },
              {
                kind: 'table',
                head: ['source', 'target', 'eps', 'accuracy', 'attack success rate'],
                rows: d.robustness.map((p) => ({ cells: [p.source, p.target, String(p.eps), String(p.accuracy), p.attack_success_rate === null ? '-' : String(p.attack_success_rate)] })),
              },
            ],
          } satisfies Section,
        ]
      : []),
    {
      heading: 'Release gates',
      blocks: d.gates.length
        ? d.gates.map((g): Block => ({
            kind: 'table',
            head: [`${g.task} (${g.run_id}): release ${g.report.release === 'passed' ? 'passed' : 'FAILED'}`, 'measures', 'threshold', 'value', 'outcome'],
            rows: g.report.results.map((r) => ({
              cells: [r.name, describeSource({ ...r, key: r.key ?? undefined }), `${r.op} ${value(r.kind, r.threshold)}`, value(r.kind, r.value), r.outcome === 'passed' ? 'passed' : 'FAILED'],
              failed: r.outcome === 'failed',
            })),
          }))
        : [{ kind: 'text', text: 'no release gates were declared for these runs' }],
    },
  ];
}
