import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { adversarialNpz, firstImages, MANIFEST_FILE, MANIFEST_FORMAT, sha256, type AdversarialManifest, type AdversarialSet } from '../data/adversarial.js';
import { loadDataset, type Split } from '../data/dataset.js';
import type { Logger } from '../log.js';
import { describeBackend, selectBackend } from '../model/backend.js';
import { batchTensors } from '../model/batch.js';
import { loadModel } from '../model/io.js';
import { logitsOf } from '../model/logits.js';
import { pgdStepSize, readAttackConfig } from './config.js';
import { fgmFromSign, gradientSign, greyLevels, pgd, toBytes } from './fgm.js';
import type { AttackConfig } from './schema.js';

export interface AttackParams {
  dataDir: string;
  attackConfig: string;
  /** The source models, by name (parameters model_<name>). */
  models: { name: string; path: string }[];
  adversarialDir: string;
}

/** The adversarial images of one source model and eps, as bytes: FGM from the gradient signs, PGD from its steps. */
function attackImages(cfg: AttackConfig, logits: (x: tf.Tensor) => tf.Tensor2D, test: Split, eps: number, signs: Float32Array | undefined): Uint8Array {
  const out = new Uint8Array(test.count * 784);
  for (let s = 0; s < test.count; s += cfg.batch_size) {
    const idx = Uint32Array.from({ length: Math.min(cfg.batch_size, test.count - s) }, (_, i) => s + i);
    const adv = tf.tidy(() => {
      const [x, y] = batchTensors(test, idx);
      const a =
        cfg.attack === 'fgm'
          ? fgmFromSign(x, tf.tensor(signs!.subarray(s * 784, (s + idx.length) * 784), x.shape), eps)
          : pgd(logits, x, y, { eps, steps: cfg.steps!, stepSize: pgdStepSize(cfg, eps), randomStartSeed: cfg.random_start ? cfg.seed + s : undefined });
      return a.dataSync() as Float32Array;
    });
    out.set(toBytes(test.images.subarray(s * 784, (s + idx.length) * 784), adv, eps), s * 784);
  }
  return out;
}

/** FGM's direction for every image: one gradient per image serves every eps. */
function allSigns(cfg: AttackConfig, logits: (x: tf.Tensor) => tf.Tensor2D, test: Split): Float32Array {
  const out = new Float32Array(test.count * 784);
  for (let s = 0; s < test.count; s += cfg.batch_size) {
    const idx = Uint32Array.from({ length: Math.min(cfg.batch_size, test.count - s) }, (_, i) => s + i);
    out.set(
      tf.tidy(() => {
        const [x, y] = batchTensors(test, idx);
        return gradientSign(logits, x, y).dataSync() as Float32Array;
      }),
      s * 784,
    );
  }
  return out;
}

/**
 * The attack task: for every source model and every eps of attack_config, the adversarial test set (untargeted,
 * L∞, pixels kept in [0, 1]) as `<adversarial_dir>/<source>/<attack>-eps<eps>.npz`, and `manifest.json` naming
 * the attack, the source model's digests and each set's sha256.
 */
export async function runAttack(params: AttackParams, log: Logger): Promise<AdversarialManifest> {
  const cfg = readAttackConfig(params.attackConfig);
  const data = loadDataset(params.dataDir);
  const test = firstImages(data.test, cfg.images ?? data.test.count);
  const backend = await selectBackend(cfg.backend, process.env, 'attack_config');
  log.info(describeBackend(backend));
  log.info(`${cfg.attack} (L∞, untargeted) with eps ${cfg.eps.join(', ')} on ${test.count} test images from ${data.source}, against ${params.models.map((m) => m.name).join(', ')}`);
  // Emptied, not removed: on a container runner the directory is a mount point.
  mkdirSync(params.adversarialDir, { recursive: true });
  for (const e of readdirSync(params.adversarialDir)) rmSync(join(params.adversarialDir, e), { recursive: true, force: true });
  const sets: AdversarialSet[] = [];
  for (const source of params.models) {
    const started = performance.now();
    const { model, json } = await loadModel(source.path);
    const model_sha256 = Object.fromEntries(['model.json', ...json.weightsManifest.flatMap((g) => g.paths)].map((f) => [f, sha256(readFileSync(join(source.path, f)))]));
    const logits = logitsOf(model);
    const signs = cfg.attack === 'fgm' ? allSigns(cfg, logits, test) : undefined;
    mkdirSync(join(params.adversarialDir, source.name), { recursive: true });
    for (const eps of cfg.eps) {
      const bytes = adversarialNpz(attackImages(cfg, logits, test, eps, signs), test.labels);
      const file = `${source.name}/${cfg.attack}-eps${eps}.npz`;
      writeFileSync(join(params.adversarialDir, file), bytes);
      sets.push({
        source: source.name,
        model_id: (json.userDefinedMetadata?.model_id as string | undefined) ?? null,
        model_sha256,
        attack: cfg.attack,
        eps,
        effective_eps: greyLevels(eps) / 255,
        file,
        sha256: sha256(bytes),
      });
    }
    model.dispose();
    log.info(`${source.name}: ${cfg.eps.length} adversarial set(s) in ${((performance.now() - started) / 1000).toFixed(1)}s`);
  }
  const manifest: AdversarialManifest = { format: MANIFEST_FORMAT, attack: { ...cfg }, images: test.count, data_source: basename(data.source), sets };
  writeFileSync(join(params.adversarialDir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  log.info(`${sets.length} adversarial sets and ${MANIFEST_FILE} written to ${params.adversarialDir}`);
  return manifest;
}
