import * as tf from '@tensorflow/tfjs';
import { CubeError } from '../errors.js';
import { registerWasmTrainingKernels } from './wasm-kernels.js';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

/** The backend in use, which package provides it, and why the better ones were passed over. */
export interface BackendChoice {
  name: BackendName;
  package: string;
  gpu: boolean;
  skipped: string[];
}

/** What the task was told about GPUs (MLCUBE_GPUS from the runtime: none | all | N | device=...). */
export function gpuRequested(env: NodeJS.ProcessEnv): boolean {
  const g = (env.MLCUBE_GPUS ?? 'none').trim();
  return g !== '' && g !== 'none' && g !== '0';
}

function whyNot(pkg: string, err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ERR_MODULE_NOT_FOUND' || /Cannot find (module|package)/.test(e.message ?? '')) {
    return pkg.includes('tfjs-node')
      ? `${pkg} is not installed (it is an optional dependency whose install script downloads libtensorflow; without network npm skips it)`
      : `${pkg} is not installed (a dependency of this cube: run npm ci)`;
  }
  return `${pkg} failed to load: ${(e.message ?? String(err)).split('\n')[0]}`;
}

/** A specifier in a variable, so that tsc does not look for the types of the optional packages. */
async function tryImport(pkg: string): Promise<unknown> {
  return import(pkg);
}

/**
 * Picks the TensorFlow.js backend: tfjs-node-gpu when GPUs were requested, then tfjs-node, then WebAssembly
 * (with this cube's training kernels), then pure JS. `requested` pins one (as the `config` file's key says); every
 * skipped option says why.
 */
export async function selectBackend(requested: 'auto' | BackendName, env: NodeJS.ProcessEnv = process.env, config = 'train_config'): Promise<BackendChoice> {
  const skipped: string[] = [];
  const wantGpu = gpuRequested(env);
  if (requested === 'auto' || requested === 'tensorflow') {
    if (wantGpu) {
      try {
        await tryImport('@tensorflow/tfjs-node-gpu');
        if (await tf.setBackend('tensorflow')) return { name: 'tensorflow', package: '@tensorflow/tfjs-node-gpu', gpu: true, skipped };
        skipped.push('@tensorflow/tfjs-node-gpu loaded but its backend did not initialise');
      } catch (err) {
        skipped.push(`GPU requested (MLCUBE_GPUS=${env.MLCUBE_GPUS}) but ${whyNot('@tensorflow/tfjs-node-gpu', err)}; training on the CPU`);
      }
    }
    try {
      await tryImport('@tensorflow/tfjs-node');
      if (await tf.setBackend('tensorflow')) return { name: 'tensorflow', package: '@tensorflow/tfjs-node', gpu: false, skipped };
      skipped.push('@tensorflow/tfjs-node loaded but its backend did not initialise');
    } catch (err) {
      skipped.push(whyNot('@tensorflow/tfjs-node', err));
    }
    if (requested === 'tensorflow') {
      throw new CubeError({
        place: `${config}: key "backend"`,
        problem: 'backend "tensorflow" is not available',
        found: skipped.join('; '),
        expected: 'an installed @tensorflow/tfjs-node',
        fix: 'run `npm install @tensorflow/tfjs-node` with network access, or set backend: auto',
      });
    }
  }
  if (requested === 'auto' || requested === 'wasm') {
    try {
      await import('@tensorflow/tfjs-backend-wasm');
      registerWasmTrainingKernels();
      if (await tf.setBackend('wasm')) return { name: 'wasm', package: '@tensorflow/tfjs-backend-wasm', gpu: false, skipped };
      skipped.push('@tensorflow/tfjs-backend-wasm did not initialise');
    } catch (err) {
      skipped.push(whyNot('@tensorflow/tfjs-backend-wasm', err));
    }
    if (requested === 'wasm') {
      throw new CubeError({
        place: `${config}: key "backend"`,
        problem: 'backend "wasm" is not available',
        found: skipped.join('; '),
        expected: 'a working @tensorflow/tfjs-backend-wasm',
        fix: 'run `npm ci`, or set backend: auto',
      });
    }
  }
  await tf.setBackend('cpu');
  return { name: 'cpu', package: '@tensorflow/tfjs (pure JS)', gpu: false, skipped };
}

/** One line for the log: the backend, and the reasons for skipping the faster ones. */
export function describeBackend(c: BackendChoice): string {
  let simd = '';
  try {
    if (c.name === 'wasm') simd = ` (SIMD ${tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'on' : 'off'})`;
  } catch {
    // flag not evaluated yet
  }
  return `backend ${c.name}${simd} from ${c.package}${c.gpu ? ' on GPU' : ''}${c.skipped.length ? `; skipped: ${c.skipped.join('; ')}` : ''}`;
}
