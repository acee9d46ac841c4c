import { expect } from 'chai';
import type { MetricRow } from '../../src/provenance/metrics.js';
import type { RunRecord } from '../../src/provenance/record.js';
import type { GateReport } from '../../src/gates/evaluate.js';
import { asConfusionMatrix, cardData, type CardInputs } from '../../src/card/data.js';
import { planPlots } from '../../src/card/plots.js';
import { cardSections, releaseLine } from '../../src/card/sections.js';
import { cardMarkdown } from '../../src/card/markdown.js';
import { cardHtml } from '../../src/card/html.js';
import { fileParam, hex, makeRecord } from '../helpers/records.js';

const row = (name: string, value: MetricRow['value'], step?: number): MetricRow => ({ name, value, step, timestamp: '2026-11-23T00:00:00Z' });
const metrics = (rows: MetricRow[], final: Record<string, number | string>) => ({ rows, final, rejected: [] });

function train(rows: MetricRow[] = []): RunRecord {
  return makeRecord('20261123T000001Z-train-aaaaaa', [{ ...fileParam('data', 'input', hex('train data')) }, { ...fileParam('model', 'output', hex('model')), kind: 'model' }], {
    task: 'train',
    metrics: metrics(rows, {}),
  });
}

function evaluation(final: Record<string, number | string>, gates?: GateReport): RunRecord {
  return makeRecord('20261123T000002Z-evaluate-bbbbbb', [{ ...fileParam('data', 'input', hex('test data')) }, { ...fileParam('model', 'input', hex('model')), kind: 'model' }], {
    task: 'evaluate',
    metrics: metrics([], final),
    ...(gates ? { gates } : {}),
  });
}

const inputs = (over: Partial<CardInputs> = {}): CardInputs => ({ evaluation: evaluation({}), training: train(), unverified: [], confusion: null, config: [], ...over });
const markdownOf = (i: CardInputs) => {
  const d = cardData(i);
  return cardMarkdown(d.title, cardSections(d), planPlots(d));
};

const EPOCHS = [row('accuracy', 0.6, 1), row('accuracy', 0.7, 2), row('val_accuracy', 0.55, 1), row('val_accuracy', 0.65, 2), row('loss', 0.9, 1), row('loss', 0.5, 2)];
const failedGate: GateReport = {
  release: 'failed',
  results: [
    { name: 'test_accuracy', kind: 'metric', source: 'test_accuracy', key: null, op: '>=', threshold: 0.999, value: 0.85, outcome: 'failed', reason: 'metric test_accuracy = 0.85, not >= 0.999' },
    { name: 'model_size', kind: 'size', source: 'model', key: null, op: '<=', threshold: 10_000_000, value: 2000, outcome: 'passed', reason: 'size of model = 2 kB' },
  ],
};

describe('model card data from run records (src/card/data.ts): nothing invented', () => {
  const table: [string, CardInputs, (d: ReturnType<typeof cardData>) => void][] = [
    [
      'per-class accuracy from test_accuracy_class_<c>, in numeric class order; other metrics left out of it',
      inputs({ evaluation: evaluation({ test_accuracy: 0.9, test_accuracy_class_10: 0.5, test_accuracy_class_2: 0.8, test_accuracy_class_0: 1, test_accuracy_min_class: 0.5 }) }),
      (d) =>
        expect(d.perClass).to.deep.equal([
          { label: '0', accuracy: 1 },
          { label: '2', accuracy: 0.8 },
          { label: '10', accuracy: 0.5 },
        ]),
    ],
    ['no per-class rows: per-class accuracy is null (not reported), not zeros', inputs({ evaluation: evaluation({ test_accuracy: 0.9 }) }), (d) => expect(d.perClass).to.equal(null)],
    [
      'a class whose accuracy is NaN is no bar (the final metrics still show NaN)',
      inputs({ evaluation: evaluation({ test_accuracy_class_0: 'NaN', test_accuracy_class_1: 0.7 }) }),
      (d) => expect(d.perClass).to.deep.equal([{ label: '1', accuracy: 0.7 }]),
    ],
    [
      'curves from the training run’s rows with a step, training and validation by name',
      inputs({ training: train([...EPOCHS, row('accuracy', 0.99)]) }),
      (d) => {
        expect(d.curves.accuracy).to.deep.equal([
          { epoch: 1, split: 'training', value: 0.6 },
          { epoch: 1, split: 'validation', value: 0.55 },
          { epoch: 2, split: 'training', value: 0.7 },
          { epoch: 2, split: 'validation', value: 0.65 },
        ]);
        expect(d.curves.loss!.map((p) => p.split)).to.deep.equal(['training', 'training']);
      },
    ],
    [
      'no step rows: no curves (a final value is no curve)',
      inputs({ training: train([row('accuracy', 0.9), row('loss', 'NaN', 1)]) }),
      (d) => expect(d.curves).to.deep.equal({ accuracy: null, loss: null }),
    ],
    [
      'no training run: no curves, and the model identity is the evaluation’s model input',
      inputs({ training: null }),
      (d) => {
        expect([d.training, d.curves.accuracy, d.curves.loss]).to.deep.equal([null, null, null]);
        expect(d.model.map((m) => [m.io, m.name, m.sha256])).to.deep.equal([['input', 'model', hex('model')]]);
      },
    ],
    [
      'identity: the training run’s model output, each run’s data inputs, digests as recorded',
      inputs(),
      (d) => {
        expect(d.model.map((m) => [m.run_id, m.io, m.sha256])).to.deep.equal([['20261123T000001Z-train-aaaaaa', 'output', hex('model')]]);
        expect(d.data.map((m) => m.sha256)).to.deep.equal([hex('train data'), hex('test data')]);
        expect(d.code.map((c) => c.cube_file_sha256)).to.deep.equal([hex('cube'), hex('cube')]);
      },
    ],
    ['no gates: release null', inputs(), (d) => expect([d.release, d.gates]).to.deep.equal([null, []])],
    ['a failed gate: release failed', inputs({ evaluation: evaluation({}, failedGate) }), (d) => expect(d.release).to.equal('failed')],
    ['every gate passed: release passed', inputs({ evaluation: evaluation({}, { release: 'passed', results: [{ ...failedGate.results[1] }] }) }), (d) => expect(d.release).to.equal('passed')],
  ];
  for (const [what, i, check] of table) it(what, () => check(cardData(i)));

  const matrices: [string, unknown, boolean][] = [
    [
      'square of non-negative integers',
      [
        [1, 0],
        [2, 3],
      ],
      true,
    ],
    ['1x1', [[5]], true],
    ['not square', [[1, 0], [2]], false],
    [
      'negative',
      [
        [1, -1],
        [0, 1],
      ],
      false,
    ],
    [
      'fractions',
      [
        [0.5, 0],
        [0, 1],
      ],
      false,
    ],
    [
      'strings',
      [
        ['1', '0'],
        ['0', '1'],
      ],
      false,
    ],
    ['empty', [], false],
    ['not a list', { a: 1 }, false],
  ];
  for (const [what, v, ok] of matrices) it(`confusion matrix: ${what} is ${ok ? '' : 'not '}one`, () => expect(asConfusionMatrix(v) !== undefined).to.equal(ok));
});

describe('model card text (src/card/sections.ts, markdown.ts, html.ts)', () => {
  it('a metric that was not reported reads "not reported", with the metric name, and draws no plot', () => {
    const d = cardData(inputs({ training: train([]), evaluation: evaluation({ test_accuracy: 0.9 }) }));
    const plots = planPlots(d);
    expect(plots.map((p) => [p.id, p.spec === null])).to.deep.equal([
      ['confusion-matrix', true],
      ['per-class-accuracy', true],
      ['accuracy', true],
      ['loss', true],
    ]);
    const md = cardMarkdown(d.title, cardSections(d), plots);
    expect(md).to.contain('Per-class accuracy: not reported (test_accuracy_class_<class>');
    expect(md).to.contain('Confusion matrix: not reported (confusion_matrix');
    expect(md).to.contain('Accuracy per epoch: not reported (accuracy / val_accuracy');
    expect(md).to.not.contain('.png');
    expect(md).to.contain('training configuration: not reported');
    expect(md).to.contain('| test_accuracy | 0.9 |');
  });

  it('what was reported is plotted: one PNG per plot, the data in its spec', () => {
    const d = cardData(inputs({ training: train(EPOCHS), evaluation: evaluation({ test_accuracy_class_0: 0.9 }), confusion: { matrix: [[3]], source: 'm.json key confusion_matrix' } }));
    const plots = planPlots(d);
    expect(plots.map((p) => p.spec !== null)).to.deep.equal([true, true, true, true]);
    expect(JSON.stringify(plots[0].spec)).to.contain('"count":3');
    expect(cardMarkdown(d.title, cardSections(d), plots)).to.contain('![Per-class accuracy](per-class-accuracy.png)');
  });

  it('a failed gate is shown failed: the release line names it, its row reads FAILED (bold in Markdown, class failed in HTML)', () => {
    const d = cardData(inputs({ evaluation: evaluation({ test_accuracy: 0.85 }, failedGate) }));
    expect(releaseLine(d)).to.deep.include({ alert: true, text: 'Release: FAILED. Failed gate: test_accuracy (metric test_accuracy = 0.85, not >= 0.999).' });
    const md = markdownOf(inputs({ evaluation: evaluation({ test_accuracy: 0.85 }, failedGate) }));
    expect(md).to.contain('**Release: FAILED.');
    expect(md).to.contain('| test_accuracy | metric test_accuracy | >= 0.999 | 0.85 | **FAILED** |');
    expect(md).to.contain('| model_size | size of model | <= 10 MB (10,000,000 bytes) | 2 kB (2,000 bytes) | passed |');
    const html = cardHtml(d.title, cardSections(d), planPlots(d), new Map());
    expect(html).to.match(/<tr class="failed"><td>test_accuracy<\/td>.*<td>FAILED<\/td><\/tr>/);
    expect(html.match(/class="failed"/g)).to.have.length(1);
  });

  it('passed and ungated runs say so', () => {
    expect(releaseLine(cardData(inputs())).text).to.equal('Release: no release gates were declared for these runs.');
    expect(releaseLine(cardData(inputs({ evaluation: evaluation({}, { release: 'passed', results: [failedGate.results[1]] }) }))).text).to.match(/^Release: PASSED/);
  });

  it('unverified runs (--unverified) are marked at the top with their problems', () => {
    const md = markdownOf(inputs({ unverified: [{ run_id: 'r1', problems: ['signature: the run is not signed'] }] }));
    expect(md).to.contain('**UNVERIFIED: run r1 does not verify (made with --unverified): signature: the run is not signed**');
  });

  it('HTML escapes what the runs wrote and inlines the plots as data: URIs; Markdown keeps a config with backticks fenced', () => {
    const cfg = { run_id: 'r', name: 'cfg', path: 'c.yaml', sha256: hex('c'), text: 'a: "<script>x</script>"\nb: ```\n' };
    const d = cardData(inputs({ config: [cfg], evaluation: evaluation({ test_accuracy_class_0: 0.5 }) }));
    const html = cardHtml(d.title, cardSections(d), planPlots(d), new Map([['per-class-accuracy.png', Buffer.from('PNG')]]));
    expect(html).to.not.contain('<script>');
    expect(html).to.contain('&#60;script&#62;');
    expect(html).to.contain(`<img src="data:image/png;base64,${Buffer.from('PNG').toString('base64')}" alt="Per-class accuracy">`);
    expect(html).to.not.match(/src="(?!data:)/);
    expect(cardMarkdown(d.title, cardSections(d), planPlots(d))).to.contain('````\na: "<script>x</script>"\nb: ```\n````');
  });
});

describe('model card of a robustness evaluation (accuracy vs eps, README "Robustness")', () => {
  const ROBUST = {
    clean_accuracy_lenet5: 0.96,
    'adv_accuracy_shallow_lenet5_eps0.2': 0.1, // no _to_: not a name the card reads
    'adv_accuracy_shallow_to_lenet5_eps0.3': 0.2,
    'adv_accuracy_shallow_to_lenet5_eps0.1': 0.87,
    'attack_success_rate_shallow_to_lenet5_eps0.1': 0.1,
    'adv_accuracy_lenet5_to_lenet5_eps0.1': 0.6,
    'adv_accuracy_lenet5_to_lenet5_eps0.3': 'NaN',
    test_accuracy: 0.96,
  };
  const table: [string, Record<string, number | string>, ReturnType<typeof cardData>['robustness']][] = [
    [
      'one point per adv_accuracy row (numbers only), eps 0 from clean_accuracy_<target> unless reported, ordered by target, source, eps',
      ROBUST,
      [
        { source: 'lenet5', target: 'lenet5', eps: 0, accuracy: 0.96, attack_success_rate: null },
        { source: 'lenet5', target: 'lenet5', eps: 0.1, accuracy: 0.6, attack_success_rate: null },
        { source: 'shallow', target: 'lenet5', eps: 0, accuracy: 0.96, attack_success_rate: null },
        { source: 'shallow', target: 'lenet5', eps: 0.1, accuracy: 0.87, attack_success_rate: 0.1 },
        { source: 'shallow', target: 'lenet5', eps: 0.3, accuracy: 0.2, attack_success_rate: null },
      ],
    ],
    [
      'an eps 0 row that was reported is the eps 0 point (clean accuracy does not replace it)',
      { clean_accuracy_b: 0.9, adv_accuracy_a_to_b_eps0: 0.8 },
      [{ source: 'a', target: 'b', eps: 0, accuracy: 0.8, attack_success_rate: null }],
    ],
    ['no clean accuracy: no eps 0 point is made up', { 'adv_accuracy_a_to_b_eps0.2': 0.5 }, [{ source: 'a', target: 'b', eps: 0.2, accuracy: 0.5, attack_success_rate: null }]],
    ['no adversarial rows (clean accuracy alone is no robustness evaluation): null', { clean_accuracy_lenet5: 0.9, test_accuracy: 0.9 }, null],
  ];
  for (const [what, final, want] of table) it(what, () => expect(cardData(inputs({ evaluation: evaluation(final) })).robustness).to.deep.equal(want));

  it('a robustness evaluation gets a fifth plot (one line per source → target) and a Robustness table; other cards neither', () => {
    const d = cardData(inputs({ evaluation: evaluation(ROBUST) }));
    const plots = planPlots(d);
    expect(plots.map((p) => p.id)).to.deep.equal(['confusion-matrix', 'per-class-accuracy', 'accuracy', 'loss', 'robustness']);
    const spec = plots[4].spec as { data: { values: { line: string; attack: string; eps: number }[] } };
    expect([...new Set(spec.data.values.map((v) => `${v.line} (${v.attack})`))]).to.deep.equal(['lenet5 → lenet5 (white box)', 'shallow → lenet5 (transfer)']);
    const md = cardMarkdown(d.title, cardSections(d), plots);
    expect(md).to.contain('![Accuracy vs ε](robustness.png)');
    expect(md).to.contain('## Robustness');
    expect(md).to.contain('| shallow | lenet5 | 0.1 | 0.87 | 0.1 |');
    const plain = cardData(inputs({ evaluation: evaluation({ test_accuracy: 0.9 }) }));
    expect(planPlots(plain).map((p) => p.id)).to.not.include('robustness');
    const plainMd = cardMarkdown(plain.title, cardSections(plain), planPlots(plain));
    expect(plainMd).to.not.contain('Robustness');
    expect(plainMd).to.not.contain('ε');
  });
});
