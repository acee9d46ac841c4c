import * as tf from '@tensorflow/tfjs';

/** The slice of the wasm backend these kernels use (tfjs-backend-wasm's BackendWasm). */
interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
  disposeData(dataId: tf.DataId): boolean;
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

function callKernel(name: string, args: KernelArgs): tf.TensorInfo {
  const k = tf.getKernel(name, 'wasm');
  if (!k) throw new Error(`wasm kernel ${name} is not registered`);
  return k.kernelFunc(args as never) as tf.TensorInfo;
}

type Shape4 = [number, number, number, number];

/** Geometry shared by the conv gradient kernels (NHWC only, as the wasm backend's own Conv2D). */
function nhwcConvInfo(kernel: string, inShape: readonly number[], filterShape: readonly number[], attrs: tf.Conv2DBackpropInputAttrs | tf.Conv2DBackpropFilterAttrs) {
  const { strides, pad, dataFormat, dimRoundingMode } = attrs;
  if (dataFormat !== 'NHWC') throw new Error(`${kernel} (wasm): only NHWC is supported, got ${dataFormat}`);
  return tf.backend_util.computeConv2DInfo(inShape as Shape4, filterShape as Shape4, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
}

/**
 * Conv2DBackpropFilter for the wasm backend, which lacks it (tfjs#5787): dW = im2col(x)ᵀ · dy, with the
 * im2col written straight into wasm memory and the product done by the backend's XNNPACK BatchMatMul.
 */
function conv2DBackpropFilter(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const x = args.inputs.x as tf.TensorInfo;
  const dy = args.inputs.dy as tf.TensorInfo;
  const attrs = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const info = nhwcConvInfo('Conv2DBackpropFilter', x.shape, attrs.filterShape, attrs);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  const n = batchSize * outHeight * outWidth;
  const k = filterHeight * filterWidth * inChannels;
  const colsT = backend.makeOutput([1, k, n], 'float32');
  const cols = backend.typedArrayFromHeap(colsT);
  const xv = backend.typedArrayFromHeap(x);
  const rowStride = inWidth * inChannels;
  const imgStride = inHeight * rowStride;
  for (let fh = 0; fh < filterHeight; fh++) {
    for (let fw = 0; fw < filterWidth; fw++) {
      for (let ci = 0; ci < inChannels; ci++) {
        let o = ((fh * filterWidth + fw) * inChannels + ci) * n;
        for (let b = 0; b < batchSize; b++) {
          const xb = b * imgStride + ci;
          for (let oh = 0; oh < outHeight; oh++) {
            const ih = oh * strideHeight + fh * dilationHeight - padTop;
            if (ih < 0 || ih >= inHeight) {
              cols.fill(0, o, o + outWidth);
              o += outWidth;
              continue;
            }
            const xr = xb + ih * rowStride;
            for (let ow = 0; ow < outWidth; ow++) {
              const iw = ow * strideWidth + fw * dilationWidth - padLeft;
              cols[o++] = iw < 0 || iw >= inWidth ? 0 : xv[xr + iw * inChannels];
            }
          }
        }
      }
    }
  }
  const dy3 = callKernel('Reshape', { inputs: { x: dy }, backend, attrs: { shape: [1, n, outChannels] } });
  const out = callKernel('BatchMatMul', { inputs: { a: colsT, b: dy3 }, backend, attrs: { transposeA: false, transposeB: false } });
  backend.disposeData(colsT.dataId);
  backend.disposeData(dy3.dataId);
  return { dataId: out.dataId, shape: [...attrs.filterShape], dtype: out.dtype };
}

/** Transposes the last two axes of a rank-3 tensor with the backend's own Transpose kernel. */
function transposeLast2(t: tf.TensorInfo, backend: unknown): tf.TensorInfo {
  return callKernel('Transpose', { inputs: { x: t }, backend, attrs: { perm: [0, 2, 1] } });
}

function rank3(t: tf.TensorInfo, backend: unknown): tf.TensorInfo {
  const s = t.shape;
  const shape = [s.slice(0, -2).reduce((a, b) => a * b, 1), s[s.length - 2], s[s.length - 1]];
  return callKernel('Reshape', { inputs: { x: t }, backend, attrs: { shape } });
}

/**
 * Wraps BatchMatMul so that transposed operands are transposed in memory first: the wasm backend sends any
 * transposed or batched product to a scalar triple loop and only plain [1,m,k]x[1,k,n] to XNNPACK, yet every
 * Dense/Conv gradient asks for a transposed product.
 */
function fastBatchMatMul(original: tf.KernelFunc) {
  return (args: KernelArgs): tf.TensorInfo => {
    const { transposeA, transposeB } = args.attrs as unknown as tf.BatchMatMulAttrs;
    const a = args.inputs.a as tf.TensorInfo;
    const b = args.inputs.b as tf.TensorInfo;
    const batchA = a.shape.slice(0, -2).reduce((p, q) => p * q, 1);
    const batchB = b.shape.slice(0, -2).reduce((p, q) => p * q, 1);
    if ((!transposeA && !transposeB) || batchA !== 1 || batchB !== 1) return original(args as never) as tf.TensorInfo;
    const backend = args.backend as WasmBackendLike;
    const temps: tf.TensorInfo[] = [];
    let a2 = a;
    let b2 = b;
    if (transposeA) {
      const r = rank3(a, backend);
      a2 = transposeLast2(r, backend);
      temps.push(r, a2);
    }
    if (transposeB) {
      const r = rank3(b, backend);
      b2 = transposeLast2(r, backend);
      temps.push(r, b2);
    }
    const out = original({ ...args, inputs: { a: a2, b: b2 }, attrs: { ...args.attrs, transposeA: false, transposeB: false } } as never) as tf.TensorInfo;
    for (const t of temps) backend.disposeData(t.dataId);
    const m = transposeA ? a.shape[a.shape.length - 1] : a.shape[a.shape.length - 2];
    const n = transposeB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
    return { dataId: out.dataId, shape: [...a.shape.slice(0, -2), m, n], dtype: out.dtype };
  };
}

/**
 * Conv2DBackpropInput as dcols = dy · Wᵀ on XNNPACK followed by a col2im scatter-add; the wasm backend's own
 * kernel is a scalar six-deep loop (about 180 ms per batch of 128 for a 3x3x32x64 layer).
 */
function conv2DBackpropInput(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const dy = args.inputs.dy as tf.TensorInfo;
  const filter = args.inputs.filter as tf.TensorInfo;
  const attrs = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
  const info = nhwcConvInfo('Conv2DBackpropInput', attrs.inputShape, filter.shape, attrs);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  const n = batchSize * outHeight * outWidth;
  const k = filterHeight * filterWidth * inChannels;
  const dy2 = callKernel('Reshape', { inputs: { x: dy }, backend, attrs: { shape: [1, n, outChannels] } });
  const w2 = callKernel('Reshape', { inputs: { x: filter }, backend, attrs: { shape: [1, k, outChannels] } });
  const wT = transposeLast2(w2, backend);
  const dcols = callKernel('BatchMatMul', { inputs: { a: dy2, b: wT }, backend, attrs: { transposeA: false, transposeB: false } });
  backend.disposeData(dy2.dataId);
  backend.disposeData(w2.dataId);
  backend.disposeData(wT.dataId);
  const dx = backend.makeOutput([batchSize, inHeight, inWidth, inChannels], 'float32');
  const out = backend.typedArrayFromHeap(dx);
  const cols = backend.typedArrayFromHeap(dcols);
  out.fill(0);
  const rowStride = inWidth * inChannels;
  const imgStride = inHeight * rowStride;
  let c = 0;
  for (let b = 0; b < batchSize; b++) {
    const xb = b * imgStride;
    for (let oh = 0; oh < outHeight; oh++) {
      for (let ow = 0; ow < outWidth; ow++) {
        for (let fh = 0; fh < filterHeight; fh++) {
          const ih = oh * strideHeight + fh * dilationHeight - padTop;
          if (ih < 0 || ih >= inHeight) {
            c += filterWidth * inChannels;
            continue;
          }
          for (let fw = 0; fw < filterWidth; fw++) {
            const iw = ow * strideWidth + fw * dilationWidth - padLeft;
            if (iw < 0 || iw >= inWidth) {
              c += inChannels;
              continue;
            }
            let o = xb + ih * rowStride + iw * inChannels;
            for (let ci = 0; ci < inChannels; ci++) out[o++] += cols[c++];
          }
        }
      }
    }
  }
  backend.disposeData(dcols.dataId);
  return dx;
}

/** MaxPoolGrad in one pass over the windows (first maximum wins, as in TensorFlow); the wasm one is scalar and slow. */
function maxPoolGrad(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const dy = args.inputs.dy as tf.TensorInfo;
  const x = args.inputs.input as tf.TensorInfo;
  const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as tf.MaxPoolGradAttrs;
  const info = tf.backend_util.computePool2DInfo(x.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  const dx = backend.makeOutput([...x.shape], 'float32');
  const out = backend.typedArrayFromHeap(dx);
  const xv = backend.typedArrayFromHeap(x);
  const g = backend.typedArrayFromHeap(dy);
  out.fill(0);
  const rowStride = inWidth * inChannels;
  const imgStride = inHeight * rowStride;
  let d = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let oh = 0; oh < outHeight; oh++) {
      const h0 = oh * strideHeight - padTop;
      const hs = Math.max(0, h0);
      const he = Math.min(inHeight, h0 + filterHeight);
      for (let ow = 0; ow < outWidth; ow++) {
        const w0 = ow * strideWidth - padLeft;
        const ws = Math.max(0, w0);
        const we = Math.min(inWidth, w0 + filterWidth);
        const base = b * imgStride;
        for (let ci = 0; ci < inChannels; ci++, d++) {
          let best = -Infinity;
          let at = -1;
          for (let h = hs; h < he; h++) {
            let o = base + h * rowStride + ws * inChannels + ci;
            for (let w = ws; w < we; w++, o += inChannels) {
              const v = xv[o];
              if (v > best || at < 0) {
                best = v;
                at = o;
              }
            }
          }
          if (at >= 0) out[at] += g[d];
        }
      }
    }
  }
  return dx;
}

function replaceKernel(kernelName: string, make: (original: tf.KernelConfig) => tf.KernelFunc): void {
  const original = tf.getKernel(kernelName, 'wasm');
  if (!original || (original.kernelFunc as { mnistCube?: boolean }).mnistCube) return;
  const fn = make(original) as tf.KernelFunc & { mnistCube?: boolean };
  fn.mnistCube = true;
  tf.unregisterKernel(kernelName, 'wasm');
  tf.registerKernel({ ...original, kernelFunc: fn });
}

/**
 * Registers the training kernels the wasm backend lacks (Conv2DBackpropFilter) and replaces the slow scalar ones
 * (transposed BatchMatMul, Conv2DBackpropInput, MaxPoolGrad). Call before `tf.setBackend('wasm')`; idempotent.
 */
export function registerWasmTrainingKernels(): void {
  if (!tf.getKernel('Conv2DBackpropFilter', 'wasm')) {
    tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: conv2DBackpropFilter as never });
  }
  replaceKernel('BatchMatMul', (orig) => fastBatchMatMul(orig.kernelFunc) as never);
  replaceKernel('Conv2DBackpropInput', () => conv2DBackpropInput as never);
  replaceKernel('MaxPoolGrad', () => maxPoolGrad as never);
}
