#!/usr/bin/env node
// Evaluation throughput of the mnist cube's models at batch 256: ONNX Runtime (the model as the export task writes
// it, onnxruntime-node, CPU, one intra-op thread per core) vs the TensorFlow.js backend the cube evaluates on today
// (auto: tfjs-node when installed, else WebAssembly), in the same run, on the same 256 test digits of the bundled
// offline set; ONNX Runtime with one intra-op thread and with one per core (as evaluate runs it). Each figure is the
// best of three runs of --batches batches (after a warm-up); target: >= 25,000 images/s for the CNN on ONNX Runtime
// on 2 cores. Wall-clock figures: on a loaded machine the threads wait for each other; the load is printed per row.
// Not a test (mocha never runs it).
// Usage: npm run build && node test/bench/onnx.mjs [--batches=40] [--models=mlp,cnn,lenet5] [--model-dir=<trained model_dir>]
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { best, load, repo } from './compare.mjs';

const { values } = parseArgs({ options: { batches: { type: 'string', default: '40' }, models: { type: 'string', default: 'mlp,cnn,lenet5' }, 'model-dir': { type: 'string' } } });
const cube = (p) => import(join(repo, 'cubes', 'mnist', 'dist', p));
const { datasetFromNpz } = await cube('data/dataset.js');
const { batchTensors } = await cube('model/batch.js');
const { createModel } = await cube('model/architectures.js');
const { describeBackend, selectBackend } = await cube('model/backend.js');
const { loadModel } = await cube('model/io.js');
const { onnxPredictor, tfjsPredictor } = await cube('evaluate/predictor.js');

const BATCH = 256;
const batches = Number(values.batches);
const test = datasetFromNpz(readFileSync(join(repo, 'cubes', 'mnist', 'workspace', 'mnist-offline.npz')), 'offline').test;
const [x] = batchTensors(
  test,
  Uint32Array.from({ length: BATCH }, (_, i) => i),
);
const backend = await selectBackend('auto');
console.log(`${describeBackend(backend).split('; skipped')[0]}; ${availableParallelism()} cores; load ${load()} at the start`);
console.log(
  `images/s at batch ${BATCH}, best of 3 runs of ${batches} batches${values['model-dir'] ? ` (weights from ${values['model-dir']})` : ' (initial weights: throughput does not depend on them)'}`,
);
const cores = availableParallelism();
console.log(['model', `TensorFlow.js ${backend.name}`, 'ONNX Runtime 1 thread', `ONNX Runtime ${cores} threads`, 'ratio', 'load'].join('\t'));

/** A fresh copy of the model (each predictor disposes the one it was given). */
async function model(name) {
  return values['model-dir'] ? (await loadModel(values['model-dir'])).model : createModel(name, 1);
}

async function rate(predictor) {
  for (let i = 0; i < 3; i++) await predictor.probabilities(x);
  const s = await best(async () => {
    for (let i = 0; i < batches; i++) await predictor.probabilities(x);
  });
  await predictor.dispose();
  return (batches * BATCH) / s;
}

for (const name of values.models.split(',')) {
  const tfjs = await rate(tfjsPredictor(await model(name), backend.name));
  const one = await rate(await onnxPredictor(await model(name), 1));
  const onnx = await rate(await onnxPredictor(await model(name), cores));
  console.log([name, Math.round(tfjs), Math.round(one), Math.round(onnx), `${(onnx / tfjs).toFixed(1)}x`, load()].join('\t'));
  if (values['model-dir']) break;
}
