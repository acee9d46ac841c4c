import type { TopLevelSpec } from 'vega-lite';
import type { CardData, CurvePoint } from './data.js';

/** One plot of the card: its PNG file name and Vega-Lite spec, or why there is none ("not reported"). */
export interface PlotPlan {
  id: 'confusion-matrix' | 'per-class-accuracy' | 'accuracy' | 'loss';
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

/** The four plots, in the card's order; each from the card data alone. */
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
  return plots;
}
