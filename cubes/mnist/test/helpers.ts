import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Logger } from '../src/log.js';
import type { Split } from '../src/data/dataset.js';
import { writeNpz } from '../src/data/npz.js';
import type { TrainConfig } from '../src/train/schema.js';
import { readTrainConfig } from '../src/train/config.js';

/** A Logger that records lines instead of printing them. */
export function quietLogger(task = 'test'): Logger & { lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  }) as unknown as NodeJS.WriteStream;
  const log = new Logger(task, sink) as Logger & { lines: string[] };
  log.lines = lines;
  return log;
}

/** A fresh temporary directory and its cleanup. */
export function tempDir(prefix = 'mnist-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A deterministic toy split whose label is readable from the pixels (a bright row at 2*label). */
export function toySplit(count: number, seed = 1): Split {
  const images = new Uint8Array(count * 784);
  const labels = new Uint8Array(count);
  let s = seed;
  for (let i = 0; i < count; i++) {
    const label = i % 10;
    labels[i] = label;
    for (let p = 0; p < 784; p++) {
      s = (s * 1103515245 + 12345) >>> 0;
      images[i * 784 + p] = (s >>> 24) % 40;
    }
    for (let c = 4; c < 24; c++) images[i * 784 + (2 * label + 4) * 28 + c] = 250;
  }
  return { images, labels, count };
}

/** An npz in the MNIST layout whose train and test arrays are both these images (count x 28 x 28) and labels. */
export function mnistNpz(images: Uint8Array, labels: Uint8Array, compress = false): Buffer {
  const count = labels.length;
  return writeNpz(
    [
      ['x_train', images, [count, 28, 28]],
      ['y_train', labels, [count]],
      ['x_test', images, [count, 28, 28]],
      ['y_test', labels, [count]],
    ],
    compress,
  );
}

/** `<dir>/mnist.npz` (the directory made) holding `split` as both the training and the test set. */
export function writeMnistData(dir: string, split: Split): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'mnist.npz'), mnistNpz(split.images, split.labels));
}

/** A small training configuration for tests (one epoch of the MLP on the wasm backend); `over` changes keys. */
export function trainConfig(over: Partial<TrainConfig> = {}): TrainConfig {
  return {
    model: 'mlp',
    model_id: 'mnist_mlp_v1',
    loss: 'categorical_crossentropy',
    optimizer: 'adam',
    learning_rate: 0.003,
    lr_schedule: { type: 'constant' },
    train_epochs: 1,
    batch_size: 32,
    validation_split: 0.2,
    seed: 7,
    backend: 'wasm',
    workers: 1,
    ...over,
  };
}

/** train.yaml's reading of `text`, written to a file of its own (removed after): what its errors say. */
export function readTrainConfigText(text: string): ReturnType<typeof readTrainConfig> {
  const t = tempDir();
  try {
    const f = join(t.dir, 'train.yaml');
    writeFileSync(f, text);
    return readTrainConfig(f);
  } finally {
    t.cleanup();
  }
}
