import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyFixture, mlcube, readJson, snapshot, tempDir } from '../helpers/cli.js';
import { distinctColours } from '../helpers/png.js';

const PLOTS = ['accuracy.png', 'confusion-matrix.png', 'loss.png', 'per-class-accuracy.png'];

/** The `card` fixture cube (train: per-epoch rows; evaluate: per-class rows, a confusion matrix, a gate), local runner. */
describe('mlcube card on a fixture cube (test/fixtures/cubes/card): files, identity, plots, failed gate, fail closed', function () {
  let keys: { dir: string; cleanup: () => void };
  let env: Record<string, string>;
  before(async () => {
    keys = tempDir('mlcube-card-keys-');
    expect((await mlcube(['keys', 'generate', `--dir=${keys.dir}`])).exitCode).to.equal(0);
    env = { MLCUBE_SIGNING_KEY: join(keys.dir, 'signing.key') };
  });
  after(() => keys.cleanup());

  const withCube = async (fn: (cube: string) => Promise<void>) => {
    const c = copyFixture('card');
    try {
      await fn(c.dir);
    } finally {
      c.cleanup();
    }
  };
  const run = (cube: string, args: string[] = [], extra: Record<string, string> = env) => mlcube(['run', `--mlcube=${cube}`, '--platform=local', '--task=train,evaluate', ...args], { env: extra });
  const card = (cube: string, args: string[] = [], extra: Record<string, string> = env) => mlcube(['card', `--mlcube=${cube}`, '--json', ...args], { env: extra });
  const record = (cube: string, task: string) => {
    const runs = join(cube, 'workspace', '.mlcube', 'runs');
    return readJson(
      join(
        runs,
        readdirSync(runs).find((d) => d.includes(`-${task}-`))!,
        'record.json',
      ),
    );
  };

  it('writes model-card.md, a self-contained model-card.html and four PNG plots with the runs’ digests, config, metrics and gates', () =>
    withCube(async (cube) => {
      expect((await run(cube)).exitCode).to.equal(0);
      const r = await card(cube);
      expect(r.exitCode, r.stderr).to.equal(0);
      const doc = JSON.parse(r.stdout);
      const [train, evaluate] = [record(cube, 'train'), record(cube, 'evaluate')];
      const out = join(cube, 'workspace', 'model-card');
      expect(doc).to.deep.include({ evaluation_run: evaluate.run_id, training_run: train.run_id, release: 'passed', verified: true, out_dir: out, not_reported: [] });
      expect(readdirSync(out).sort()).to.deep.equal([...PLOTS.slice(0, 3), 'model-card.html', 'model-card.md', PLOTS[3]].sort());
      const md = readFileSync(join(out, 'model-card.md'), 'utf8');
      const digest = (rec: { parameters: { io: string; name: string; digest: { sha256: string } }[] }, io: string, name: string) =>
        rec.parameters.find((p) => p.io === io && p.name === name)!.digest.sha256;
      expect(md).to.contain(`| ${train.run_id} | output model | model.bin | sha256:${digest(train, 'output', 'model')} |`);
      expect(md).to.contain(`| ${train.run_id} | input data | train.csv | sha256:${digest(train, 'input', 'data')} |`);
      expect(md).to.contain(`| ${evaluate.run_id} | input data | test.csv | sha256:${digest(evaluate, 'input', 'data')} |`);
      expect(md).to.contain(`mlcube-tree-v1:${train.cube.code.sha256}`);
      expect(md).to.contain('```\n# tiny config\nepochs: 3\nlearning_rate: 0.01\n```');
      expect(md).to.contain('| test_accuracy_class_1 | 0.75 |');
      expect(md).to.contain('| test_accuracy | metric test_accuracy | >= 0.8 | 0.85 | passed |');
      expect(md).to.contain('**Release: PASSED');
      for (const p of PLOTS) {
        expect(md).to.contain(`](${p})`);
        const c = distinctColours(readFileSync(join(out, p)));
        expect(c.width, p).to.be.greaterThan(400);
        // Axes, labels (text drawn with the bundled font: anti-aliased glyphs add many shades) and marks.
        expect(c.colours, p).to.be.greaterThan(20);
      }
      const html = readFileSync(join(out, 'model-card.html'), 'utf8');
      const imgs = [...html.matchAll(/<img src="([^"]+)"/g)].map((m) => m[1]);
      expect(imgs).to.have.length(4);
      // Self-contained: every image is inline and is the PNG written beside it.
      const files = PLOTS.map((p) => readFileSync(join(out, p)).toString('base64'));
      for (const src of imgs) expect(files).to.include(src.replace(/^data:image\/png;base64,/, ''));
      expect(html).to.not.match(/(src|href)="(?!data:)/);
      // The same records give the same card, byte for byte (bundled font, no clock, no randomness).
      const again = await card(cube, [`--out=${join(cube, 'again')}`]);
      expect(again.exitCode, again.stderr).to.equal(0);
      for (const f of [...PLOTS, 'model-card.md', 'model-card.html']) expect(readFileSync(join(cube, 'again', f)).equals(readFileSync(join(out, f))), f).to.equal(true);
    }));

  it('a gate made to fail (exit 7): the card is still made, its release FAILED and the gate’s row FAILED', () =>
    withCube(async (cube) => {
      expect((await run(cube, ['-Ptasks.evaluate.gates.test_accuracy.min=0.999'])).exitCode).to.equal(7);
      const r = await card(cube);
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(JSON.parse(r.stdout)).to.deep.include({ release: 'failed', verified: true });
      const md = readFileSync(join(cube, 'workspace', 'model-card', 'model-card.md'), 'utf8');
      expect(md).to.contain('**Release: FAILED. Failed gate: test_accuracy (metric test_accuracy = 0.85, not >= 0.999).**');
      expect(md).to.contain('| test_accuracy | metric test_accuracy | >= 0.999 | 0.85 | **FAILED** |');
      expect(readFileSync(join(cube, 'workspace', 'model-card', 'model-card.html'), 'utf8')).to.match(/<tr class="failed"><td>test_accuracy<\/td>/);
    }));

  it('fails closed: runs that do not verify (unsigned, or a file changed since) exit 5 listing the problems and write nothing; --unverified marks them', () =>
    withCube(async (cube) => {
      expect((await run(cube, [], {})).exitCode).to.equal(0); // no signing key: unsigned runs
      const before = snapshot(join(cube, 'workspace'));
      const r = await mlcube(['card', `--mlcube=${cube}`], { env });
      expect(r.exitCode).to.equal(5);
      expect(r.stderr).to.match(/MLCUBE_PROVENANCE\w*: no model card: 2 of the runs it would show do not verify/);
      expect(r.stderr).to.contain('signature: the run is not signed');
      expect(r.stderr).to.not.match(/at .*\.js:\d+/);
      expect(snapshot(join(cube, 'workspace'))).to.deep.equal(before);
      const u = await card(cube, ['--unverified', `--out=${join(cube, 'card-out')}`]);
      expect(u.exitCode, u.stderr).to.equal(0);
      expect(JSON.parse(u.stdout)).to.deep.include({ verified: false });
      expect(readFileSync(join(cube, 'card-out', 'model-card.md'), 'utf8')).to.match(/\*\*UNVERIFIED: run \S+-train-\S+ does not verify \(made with --unverified\): signature: the run is not signed/);
    }));

  it('fails closed: a metrics file changed after the run is a problem (exit 5), not a plot', () =>
    withCube(async (cube) => {
      expect((await run(cube)).exitCode).to.equal(0);
      writeFileSync(join(cube, 'workspace', 'metrics', 'metrics.json'), JSON.stringify({ confusion_matrix: [[1]] }));
      const r = await card(cube);
      expect(r.exitCode).to.equal(5);
      expect(r.stderr).to.match(/output metrics .*metrics\.json differs/);
      expect(existsSync(join(cube, 'workspace', 'model-card'))).to.equal(false);
    }));

  it('no evaluation run in the workspace: a usage error (exit 2) saying what to run', () =>
    withCube(async (cube) => {
      const r = await mlcube(['card', `--mlcube=${cube}`], { env });
      expect(r.exitCode).to.equal(2);
      expect(r.stderr).to.contain('read a model that a recorded run produced');
      expect(r.stderr).to.contain('fix: Run the training and evaluation tasks first');
    }));
});
