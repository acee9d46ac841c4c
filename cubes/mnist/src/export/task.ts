import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadDataset } from '../data/dataset.js';
import { CubeError } from '../errors.js';
import type { Logger } from '../log.js';
import { reportMetrics } from '../metrics.js';
import { describeBackend, selectBackend } from '../model/backend.js';
import { loadModel } from '../model/io.js';
import { toOnnx } from '../model/onnx.js';
import { onnxRuntimeVersion } from '../model/onnx-runtime.js';
import { checkOnnx } from './check.js';

export interface ExportParams {
  dataDir: string;
  modelDir: string;
  exportDir: string;
}

/**
 * The export task: writes the trained model as ONNX (`model.onnx`) and as TensorFlow.js layers (`tfjs/`), after
 * running the test set through the ONNX model on ONNX Runtime and through the TensorFlow.js model; a difference
 * above the tolerance, or one image classified differently, fails the task and leaves no model.onnx.
 */
export async function runExport(params: ExportParams, log: Logger): Promise<Record<string, unknown>> {
  const data = loadDataset(params.dataDir);
  // The reference is TensorFlow.js's CPU backend: its kernels sum in double precision, where the WebAssembly one
  // (XNNPACK, float32 without FMA) differs from them by up to 1.5e-5 on the trained CNN's logits by itself.
  const backend = await selectBackend('cpu');
  log.info(`reference outputs on ${describeBackend(backend)}`);
  const { model, json } = await loadModel(params.modelDir);
  const modelId = (json.userDefinedMetadata?.model_id as string | undefined) ?? null;
  const onnx = toOnnx(model, `${modelId ?? model.name}, converted from the TensorFlow.js layers model by mlcube-mnist-ts`);
  const check = await checkOnnx(model, onnx, data.test);
  model.dispose();
  const report = {
    model_id: modelId,
    onnx: { file: 'model.onnx', bytes: onnx.length, sha256: createHash('sha256').update(onnx).digest('hex'), onnxruntime: await onnxRuntimeVersion() },
    tfjs: { dir: 'tfjs', format: json.format },
    check: { ...check, tfjs_backend: backend.name, data_source: data.source },
  };
  mkdirSync(params.exportDir, { recursive: true });
  rmSync(join(params.exportDir, 'model.onnx'), { force: true });
  writeFileSync(join(params.exportDir, 'export.json'), `${JSON.stringify(report, null, 2)}\n`);
  reportMetrics({ onnx_max_abs_diff: check.max_abs_diff_logits, onnx_same_class: check.same_class / check.images, onnx_bytes: onnx.length });
  const figures = `max |logit difference| ${check.max_abs_diff_logits.toExponential(2)} (tolerance ${check.tolerance}), same class on ${check.same_class}/${check.images} test images`;
  if (!check.passed) {
    throw new CubeError({
      place: join(params.exportDir, 'export.json'),
      problem: `the ONNX model does not reproduce the TensorFlow.js model on ONNX Runtime: ${figures}`,
      found: check.different_class.length ? `images classified differently: ${check.different_class.join(', ')}` : undefined,
      expected: `logits within ${check.tolerance} and the same class for every image`,
      fix: 'report it with export.json and the model directory; model.onnx was not written',
    });
  }
  writeFileSync(join(params.exportDir, 'model.onnx'), onnx);
  const tfjsDir = join(params.exportDir, 'tfjs');
  mkdirSync(tfjsDir, { recursive: true });
  copyFileSync(join(params.modelDir, 'model.json'), join(tfjsDir, 'model.json'));
  for (const p of json.weightsManifest.flatMap((g) => g.paths)) copyFileSync(join(params.modelDir, p), join(tfjsDir, p));
  log.info(`ONNX check passed: ${figures}`);
  log.info(`exported ${modelId ?? 'the model'} to ${params.exportDir}: model.onnx (${onnx.length} bytes) and tfjs/ (TensorFlow.js layers)`);
  return report;
}
