import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { CubeError } from '../errors.js';

/** What a saved model directory holds besides the weights (the tfjs `model.json` fields we write). */
export interface ModelArtifactsJson {
  modelTopology: object;
  weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
  format: string;
  generatedBy: string;
  convertedBy: null;
  userDefinedMetadata?: Record<string, unknown>;
}

/** Captures a model's artifacts in memory (pure tfjs has no file:// handler in Node). */
export async function modelArtifacts(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let captured: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      captured = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return captured!;
}

function weightBytes(data: tf.io.WeightData | undefined): Uint8Array {
  if (!data) return new Uint8Array(0);
  if (Array.isArray(data)) return new Uint8Array(tf.io.concatenateArrayBuffers(data));
  return new Uint8Array(data as ArrayBuffer);
}

/**
 * Writes artifacts as the tfjs layers format: `model.json` (topology, manifest, and the training config under
 * userDefinedMetadata) plus `weights.bin`; loadable with tf.loadLayersModel or {@link loadModel}.
 */
export function writeModel(dir: string, artifacts: tf.io.ModelArtifacts, metadata: Record<string, unknown>): void {
  mkdirSync(dir, { recursive: true });
  const json: ModelArtifactsJson = {
    modelTopology: artifacts.modelTopology as object,
    weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
    convertedBy: null,
    userDefinedMetadata: metadata,
  };
  writeFileSync(join(dir, 'weights.bin'), weightBytes(artifacts.weightData));
  writeFileSync(join(dir, 'model.json'), `${JSON.stringify(json)}\n`);
}

/** Reads `<dir>/model.json` and its weight files into a LayersModel, without tfjs-node's file:// handler. */
export async function loadModel(dir: string): Promise<{ model: tf.LayersModel; json: ModelArtifactsJson }> {
  const file = join(dir, 'model.json');
  let json: ModelArtifactsJson;
  try {
    json = JSON.parse(readFileSync(file, 'utf8')) as ModelArtifactsJson;
  } catch (err) {
    throw new CubeError({
      place: file,
      problem: `cannot read the model (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      expected: 'a tfjs layers model.json written by the train task',
      fix: 'run the train task with this model_dir first',
    });
  }
  if (!json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new CubeError({ place: file, problem: 'not a tfjs layers model', expected: 'keys modelTopology and weightsManifest' });
  }
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Uint8Array[] = [];
  for (const group of json.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) {
      try {
        buffers.push(readFileSync(join(dir, p)));
      } catch (err) {
        throw new CubeError({ place: join(dir, p), problem: `weights file missing (${(err as NodeJS.ErrnoException).code})`, fix: 'train again into this model_dir' });
      }
    }
  }
  const total = buffers.reduce((a, b) => a + b.length, 0);
  const weightData = new Uint8Array(total);
  let off = 0;
  for (const b of buffers) {
    weightData.set(b, off);
    off += b.length;
  }
  const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData: weightData.buffer }));
  return { model, json };
}
