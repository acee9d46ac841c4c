import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { firstImages, readAdversarialSet, readManifest } from '../data/adversarial.js';
import { loadDataset, type Split } from '../data/dataset.js';
import { CubeError } from '../errors.js';
import type { Logger } from '../log.js';
import { reportMetrics } from '../metrics.js';
import { describeBackend, selectBackend } from '../model/backend.js';
import { batchTensors } from '../model/batch.js';
import { loadModel } from '../model/io.js';
import { robustnessMetrics, type Cell, type Scores, SCORES_FILE, SCORES_FORMAT } from '../model/robustness.js';

export interface InferParams {
  dataDir: string;
  adversarialDir: string;
  /** The target model (parameter model_<name>). */
  model: { name: string; path: string };
  scoresDir: string;
}

/** Whether the model classifies each image of the split correctly. */
function correctness(model: tf.LayersModel, s: Split, batch = 500): boolean[] {
  const out: boolean[] = [];
  for (let i = 0; i < s.count; i += batch) {
    const idx = Uint32Array.from({ length: Math.min(batch, s.count - i) }, (_, k) => i + k);
    const pred = tf.tidy(() => {
      const [x] = batchTensors(s, idx);
      return tf.argMax(model.predict(x) as tf.Tensor, -1).dataSync();
    });
    idx.forEach((j, k) => out.push(pred[k] === s.labels[j]));
  }
  return out;
}

/**
 * An inference task: scores one target model on the clean test images the attack used and on every adversarial set
 * of the manifest (each checked against its sha256). Accuracy, and the attack success rate: of the images the target
 * classifies correctly when clean, the fraction it misclassifies once perturbed.
 */
export async function runInfer(params: InferParams, log: Logger): Promise<Scores> {
  const manifest = readManifest(params.adversarialDir);
  const data = loadDataset(params.dataDir);
  if (basename(data.source) !== manifest.data_source || data.test.count < manifest.images) {
    throw new CubeError({
      place: params.dataDir,
      problem: 'is not the data set the adversarial sets were made from',
      found: `${basename(data.source)} with ${data.test.count} test images`,
      expected: `${manifest.data_source} with at least ${manifest.images} (${join(params.adversarialDir, 'manifest.json')})`,
      fix: 'run the attack task on this data_dir',
    });
  }
  const clean = firstImages(data.test, manifest.images);
  const backend = await selectBackend('auto', process.env, 'the infer task');
  log.info(describeBackend(backend));
  const { model, json } = await loadModel(params.model.path);
  const target = params.model.name;
  const cleanRight = correctness(model, clean);
  const nRight = cleanRight.filter(Boolean).length;
  log.info(`${target}: clean accuracy ${((nRight / clean.count) * 100).toFixed(2)}% on ${clean.count} test images`);
  const cells: Cell[] = [];
  for (const set of manifest.sets) {
    const adv = readAdversarialSet(params.adversarialDir, set);
    if (adv.count !== clean.count || adv.labels.some((l, i) => l !== clean.labels[i])) {
      throw new CubeError({ place: join(params.adversarialDir, set.file), problem: 'its labels are not those of the clean test images', fix: 'run the attack task again' });
    }
    const right = correctness(model, adv);
    const broken = right.filter((r, i) => cleanRight[i] && !r).length;
    cells.push({
      source: set.source,
      target,
      attack: set.attack,
      eps: set.eps,
      accuracy: right.filter(Boolean).length / adv.count,
      attack_success_rate: nRight ? broken / nRight : null,
      white_box: set.source === target,
    });
    log.info(`${set.source} -> ${target} ${set.attack} eps ${set.eps}: accuracy ${(cells.at(-1)!.accuracy * 100).toFixed(2)}%, attack success ${nRight ? ((broken / nRight) * 100).toFixed(2) : '-'}%`);
  }
  model.dispose();
  const scores: Scores = {
    format: SCORES_FORMAT,
    target,
    model_id: (json.userDefinedMetadata?.model_id as string | undefined) ?? null,
    images: clean.count,
    clean_accuracy: nRight / clean.count,
    cells,
  };
  reportMetrics(robustnessMetrics([scores]));
  mkdirSync(params.scoresDir, { recursive: true });
  writeFileSync(join(params.scoresDir, SCORES_FILE), `${JSON.stringify(scores, null, 2)}\n`);
  log.info(`scores written to ${join(params.scoresDir, SCORES_FILE)}`);
  return scores;
}
