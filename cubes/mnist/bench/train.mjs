#!/usr/bin/env node
// Training throughput of the mnist cube's models on every available TensorFlow.js backend, and the ratio to
// PyTorch CPU (same model, batch, 2 threads) when python3 with torch is installed.
// Usage: npm run build && node cubes/mnist/bench/train.mjs [--seconds=S] [--models=mlp,cnn,lenet5] [--backends=tensorflow,wasm,cpu] [--cpu-cnn]
// Synthetic 28x28 data: throughput does not depend on pixel values. Not a test: nothing here is asserted.
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cube = (p) => import(join(dirname(fileURLToPath(import.meta.url)), '../dist', p));
const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));
const seconds = Number(args.seconds ?? 8);
const models = (args.models ?? 'mlp,cnn,lenet5').split(',');
const backends = (args.backends ?? 'tensorflow,wasm,cpu').split(',');
const BATCH = { mlp: [32, 128], cnn: [128], lenet5: [128] };

const tf = await import('@tensorflow/tfjs');
const { selectBackend } = await cube('model/backend.js');
const { trainReplica } = await cube('train/loop.js');
const { LocalComm } = await cube('train/comm.js');
const { trainParallel } = await cube('train/parallel.js');
const { createModel } = await cube('model/architectures.js');

function data(count) {
  const images = new Uint8Array(count * 784);
  for (let i = 0; i < images.length; i++) images[i] = (i * 2654435761) >>> 24;
  return { images, labels: Uint8Array.from({ length: count }, (_, i) => i % 10), count };
}

/** images/s of one training epoch over `count` images (after a one-batch warm-up epoch). */
async function measure(backend, model, batch, workers, count) {
  const cfg = {
    model,
    loss: 'categorical_crossentropy',
    optimizer: 'adam',
    learning_rate: 0.001,
    lr_schedule: { type: 'constant' },
    train_epochs: 2,
    batch_size: batch,
    validation_split: 0,
    seed: 1,
    backend,
    workers,
  };
  const d = data(count);
  if (workers === 1) {
    const { model: m, history } = trainReplica(cfg, d, new LocalComm());
    m.dispose();
    return history[1].images_per_s;
  }
  const { history } = await trainParallel(cfg, d, workers, backend, createModel(model).countParams(), {});
  return history[1].images_per_s;
}

function torchRates() {
  const script = `
import sys, time, json, torch, torch.nn as nn
torch.set_num_threads(2); torch.manual_seed(0)
def mk(name):
    if name == 'mlp': return nn.Sequential(nn.Flatten(), nn.Linear(784,512), nn.ReLU(), nn.Dropout(0.2), nn.Linear(512,10))
    if name == 'cnn': return nn.Sequential(nn.Conv2d(1,32,3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32,64,3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1600,128), nn.ReLU(), nn.Dropout(0.3), nn.Linear(128,10))
    return nn.Sequential(nn.Conv2d(1,6,5,padding=2), nn.ReLU(), nn.AvgPool2d(2), nn.Conv2d(6,16,5), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(400,120), nn.ReLU(), nn.Linear(120,84), nn.ReLU(), nn.Linear(84,10))
out = {}
for name, batch in json.loads(sys.argv[1]):
    m = mk(name); opt = torch.optim.Adam(m.parameters(), 1e-3); lossf = nn.CrossEntropyLoss()
    x = torch.rand(batch,1,28,28); y = torch.randint(0,10,(batch,))
    for _ in range(3): opt.zero_grad(); lossf(m(x),y).backward(); opt.step()
    n = 0; t = time.time()
    while time.time() - t < ${seconds / 2}: opt.zero_grad(); lossf(m(x),y).backward(); opt.step(); n += batch
    out[f'{name}@{batch}'] = n / (time.time() - t)
print(json.dumps({'rates': out, 'torch': torch.__version__}))
`;
  const pairs = models.flatMap((m) => BATCH[m].map((b) => [m, b]));
  // pyenv and venvs may shadow the distribution's python3, which is where Debian's python3-torch lives.
  for (const py of [process.env.PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean)) {
    try {
      return JSON.parse(execFileSync(py, ['-c', script, JSON.stringify(pairs)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    } catch {
      // next candidate
    }
  }
  return undefined;
}

const rows = [];
for (const want of backends) {
  let choice;
  try {
    choice = await selectBackend(want);
  } catch (err) {
    console.log(`${want}: not available (${err.message.split('. Fix')[0]})`);
    continue;
  }
  const workerOptions = choice.name === 'tensorflow' ? [1] : [...new Set([1, Math.min(2, availableParallelism())])];
  for (const model of models) {
    if (choice.name === 'cpu' && model === 'cnn' && !('cpu-cnn' in args)) {
      console.log('cpu        cnn     skipped: pure JS trains it at a few images/s (pass --cpu-cnn to measure)');
      continue;
    }
    for (const batch of BATCH[model]) {
      for (const workers of workerOptions) {
        // Size the epoch so that it lasts about `seconds` at the expected speed (pure JS CNN is ~3 images/s).
        const guess = choice.name === 'cpu' ? (model === 'cnn' ? 3 : model === 'lenet5' ? 15 : 200) : model === 'cnn' ? 1000 : 3000;
        const count = Math.max(batch * 2, Math.round((guess * workers * seconds) / batch) * batch);
        const rate = await measure(choice.name, model, batch, workers, count);
        rows.push({ backend: choice.name, model, batch, workers, rate });
        console.log(`${choice.name.padEnd(10)} ${model.padEnd(7)} batch ${String(batch).padEnd(4)} workers ${workers}: ${String(rate).padStart(6)} images/s`);
      }
    }
  }
}
await tf.setBackend('cpu');
const torch = torchRates();
if (!torch) {
  console.log('PyTorch: not installed (apt-get install python3-torch libopenblas0-pthread), no ratio printed');
} else {
  console.log(`PyTorch ${torch.torch} CPU, 2 threads (BLAS: whatever libblas.so.3 points to; Debian: update-alternatives --display libblas.so.3-x86_64-linux-gnu):`);
  for (const [key, rate] of Object.entries(torch.rates)) {
    const [model, batch] = key.split('@');
    const best = rows.filter((r) => r.model === model && String(r.batch) === batch).sort((a, b) => b.rate - a.rate)[0];
    console.log(
      `  ${key.padEnd(11)} ${Math.round(rate).toString().padStart(6)} images/s; best tfjs ${best ? `${best.rate} (${best.backend}, ${best.workers} workers), ratio ${(best.rate / rate).toFixed(2)}` : 'n/a'}`,
    );
  }
}
