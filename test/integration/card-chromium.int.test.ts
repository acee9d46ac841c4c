import { expect } from 'chai';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { which } from '../../src/which.js';
import { copyFixture, mlcube, tempDir } from '../helpers/cli.js';
import { distinctColours } from '../helpers/png.js';

/**
 * The HTML model card in a real browser: Debian's chromium driven by playwright-core (CI installs chromium:
 * .ci/run). Every plot must load (naturalWidth > 0) and the page must not render blank.
 */
describe('model card in headless Chromium (playwright-core): every plot loads, the page is not blank, a failed gate shows', function () {
  let chromiumPath: string | undefined;
  let keys: { dir: string; cleanup: () => void } | undefined;
  let env: Record<string, string>;
  before(async function () {
    chromiumPath = which('chromium') ?? which('chromium-browser') ?? undefined;
    if (!chromiumPath) {
      console.warn('    skip: the model-card browser test needs Debian’s chromium (apt-get install chromium): not on PATH');
      return this.skip();
    }
    keys = tempDir('mlcube-card-keys-');
    expect((await mlcube(['keys', 'generate', `--dir=${keys.dir}`])).exitCode).to.equal(0);
    env = { MLCUBE_SIGNING_KEY: join(keys.dir, 'signing.key') };
  });
  after(() => keys?.cleanup());

  /** Loads the card of a fresh run of the fixture cube; returns what the page shows. */
  async function openCard(runArgs: string[]) {
    const c = copyFixture('card');
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: chromiumPath });
    try {
      await mlcube(['run', `--mlcube=${c.dir}`, '--platform=local', '--task=train,evaluate', ...runArgs], { env });
      const made = await mlcube(['card', `--mlcube=${c.dir}`], { env });
      expect(made.exitCode, made.stderr).to.equal(0);
      const out = join(c.dir, 'workspace', 'model-card');
      expect(readdirSync(out)).to.include('model-card.html');
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      await page.goto(pathToFileURL(join(out, 'model-card.html')).href, { waitUntil: 'load' });
      const images = await page.evaluate(() => [...document.images].map((i) => ({ alt: i.alt, complete: i.complete, width: i.naturalWidth, height: i.naturalHeight })));
      const failedRows = await page.$$eval('tr.failed td:first-child', (tds) => tds.map((td) => [td.textContent, getComputedStyle(td).color]));
      const text = await page.evaluate(() => document.body.innerText);
      const shot = await page.screenshot({ fullPage: true });
      return { images, failedRows, text, shot };
    } finally {
      await browser.close();
      c.cleanup();
    }
  }

  it('the card of a passing run: four plots that load, a screenshot with content', async () => {
    const { images, failedRows, text, shot } = await openCard([]);
    expect(images.map((i) => i.alt)).to.deep.equal(['Confusion matrix', 'Per-class accuracy', 'Accuracy per epoch', 'Loss per epoch']);
    for (const i of images) {
      expect(i.complete, i.alt).to.equal(true);
      expect(i.width, i.alt).to.be.greaterThan(0);
      expect(i.height, i.alt).to.be.greaterThan(0);
    }
    expect(failedRows).to.deep.equal([]);
    expect(text).to.contain('Release: PASSED');
    // Not blank: a white page is one colour; text, tables and four charts are hundreds.
    const c = distinctColours(shot);
    expect(c.height).to.be.greaterThan(900);
    expect(c.colours).to.be.greaterThan(100);
  });

  it('the card of a run whose gate failed: the failed gate in red, the release FAILED', async () => {
    const { images, failedRows, text } = await openCard(['-Ptasks.evaluate.gates.test_accuracy.min=0.999']);
    expect(images.every((i) => i.width > 0)).to.equal(true);
    expect(failedRows).to.deep.equal([['test_accuracy', 'rgb(170, 0, 0)']]);
    expect(text).to.contain('Release: FAILED. Failed gate: test_accuracy (metric test_accuracy = 0.85, not >= 0.999).');
  });
});
