import type { TopLevelSpec } from 'vega-lite';
import type { CardData, CurvePoint } from './data.js';

/** One plot of the card: its PNG file name and Vega-Lite spec, or why there is none ("not reported"). */
export interface PlotPlan {
  id: 'confusion-matrix' | 'per-class-accuracy' | 'accuracy' | 'loss' | 'robustness';
  title: string;
  file: string;
  spec: TopLevelSpec | null;
  /** Set when spec is null: which metric was not reported. */
  missing?: string;
}

const FONT = 'DejaVu Sans';
const base = { width: 420, height: 260, background: 'white', config: { font: FONT, view: { stroke: '#ddd' } } } as const;

function curveSpec(title: string, y: string, points: CurvePoint[]): TopLevelSpec {
  return {
    ...base,
    title,
    data: { values: points },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
      y: { field: 'value', type: 'quantitative', title: y, scale: { zero: false } },
      color: { field: 'split', type: 'nominal', title: null, scale: { domain: ['training', 'validation'] } },
    },
  };
}

/** Accuracy vs eps: one line per source → target model (solid: white box, the source is the target; dashed: transfer). */
function robustnessSpec(points: NonNullable<CardData['robustness']>): TopLevelSpec {
  const values = points.map((p) => ({ ...p, line: `${p.source} → ${p.target}`, attack: p.source === p.target ? 'white box' : 'transfer' }));
  return {
    ...base,
    title: 'Accuracy vs ε (adversarial test sets)',
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'eps', type: 'quantitative', title: 'ε (L∞, pixels 0-1)' },
      y: { field: 'accuracy', type: 'quantitative', title: 'accuracy of the target', scale: { domain: [0, 1] } },
      color: { field: 'line', type: 'nominal', title: 'source → target' },
      strokeDash: {
        field: 'attack',
        type: 'nominal',
        title: null,
        scale: {
          domain: ['white box', 'transfer'],
          range: [
            [1, 0],
            [6, 3],
          ],
        },
        legend: { symbolType: 'stroke', symbolStrokeColor: '#555' },
      },
    },
  };
}

/** The four plots, in the card's order, and accuracy vs eps after them for a robustness evaluation; each from the card data alone. */
export function planPlots(d: CardData): PlotPlan[] {
  const plots: PlotPlan[] = [];
  const cm = d.confusion?.matrix;
  plots.push({
    id: 'confusion-matrix',
    title: 'Confusion matrix',
    file: 'confusion-matrix.png',
    spec: cm
      ? {
          ...base,
          width: 360,
          height: 360,
          title: 'Confusion matrix (rows: true class)',
          data: { values: cm.flatMap((row, t) => row.map((n, p) => ({ true: String(t), predicted: String(p), count: n }))) },
          encoding: {
            x: { field: 'predicted', type: 'ordinal', sort: null, title: 'predicted', axis: { labelAngle: 0 } },
            y: { field: 'true', type: 'ordinal', sort: null, title: 'true' },
          },
          layer: [
            { mark: 'rect', encoding: { color: { field: 'count', type: 'quantitative', scale: { scheme: 'blues', type: 'symlog' }, title: 'images' } } },
            {
              mark: { type: 'text', fontSize: cm.length > 12 ? 7 : 11 },
              encoding: { text: { field: 'count', type: 'quantitative' }, color: { condition: { test: `datum.count > ${Math.max(...cm.flat()) / 2}`, value: 'white' }, value: 'black' } },
            },
          ],
        }
      : null,
    missing: cm ? undefined : 'confusion_matrix (a key of a JSON file among the evaluation run’s metrics outputs)',
  });
  plots.push({
    id: 'per-class-accuracy',
    title: 'Per-class accuracy',
    file: 'per-class-accuracy.png',
    spec: d.perClass
      ? {
          ...base,
          title: 'Per-class accuracy (test set)',
          data: { values: d.perClass },
          mark: 'bar',
          encoding: {
            x: { field: 'label', type: 'ordinal', sort: null, title: 'class', axis: { labelAngle: 0 } },
            y: { field: 'accuracy', type: 'quantitative', title: 'accuracy', scale: { domain: [0, 1] } },
            tooltip: { field: 'accuracy', type: 'quantitative' },
          },
        }
      : null,
    missing: d.perClass ? undefined : 'test_accuracy_class_<class> (metric rows of the evaluation run)',
  });
  for (const [id, title, y] of [
    ['accuracy', 'Accuracy per epoch', 'accuracy'],
    ['loss', 'Loss per epoch', 'loss'],
  ] as const) {
    const points = d.curves[id];
    plots.push({
      id,
      title,
      file: `${id}.png`,
      spec: points ? curveSpec(title, y, points) : null,
      missing: points ? undefined : `${id} / val_${id} with a step (metric rows of the training run${d.training ? '' : ', which was not found'})`,
    });
  }
  // Only a robustness evaluation has this plot: other cards neither draw it nor list it as not reported.
  if (d.robustness) plots.push({ id: 'robustness', title: 'Accuracy vs ε', file: 'robustness.png', spec: robustnessSpec(d.robustness) });
  return plots;
}
