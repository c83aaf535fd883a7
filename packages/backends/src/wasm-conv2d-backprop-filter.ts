import {
  backend_util,
  Conv2D,
  Conv2DBackpropFilter,
  getKernel,
  Transpose,
  type Conv2DBackpropFilterAttrs,
  type KernelConfig,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
// Type-only: importing the package itself registers the backend, which is setup's job.
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * Conv2DBackpropFilter (the filter gradient of conv2d) for the tfjs `wasm` backend, which
 * ships without one. dW[kh,kw,ci,co] = sum over n,oh,ow of
 * x[n, oh*sh + kh - padTop, ow*sw + kw - padLeft, ci] * dy[n,oh,ow,co].
 *
 * Two implementations (ms per call for LeNet-5's C1 / C3 / C5 at batch 64, one core; see
 * bench/wasm.ts, `npm run bench:wasm -w @mnist/backends`):
 * - `xnnpack` (default): the sum is itself a convolution, so XNNPACK's SIMD conv does it:
 *   x^T [Cin,H,W,N] conv dy^T [oH,oW,N,Cout] with dilation = stride gives [Cin,kh,kw,Cout].
 *   About 4 / 2.4 / 0.5 ms. Sums in float32, as the wasm backend's matMul and conv do.
 * - `js`: loops over the wasm heap with float64 sums, bit-identical to the cpu backend.
 *   About 10 / 21 / 8.5 ms.
 */
export const CONV2D_BACKPROP_FILTER_IMPLS = ['xnnpack', 'js'] as const;
export type Conv2dBackpropFilterImpl = (typeof CONV2D_BACKPROP_FILTER_IMPLS)[number];

export interface Conv2dBackpropFilterOptions {
  impl?: Conv2dBackpropFilterImpl;
}

const defaults = { impl: 'xnnpack' } satisfies Required<Conv2dBackpropFilterOptions>;

export function createConv2dBackpropFilterKernel(options: Conv2dBackpropFilterOptions = {}): KernelConfig {
  const impl = options.impl ?? defaults.impl;
  const compute = impl === 'xnnpack' ? viaXnnpackConv : viaJsLoops;
  return {
    kernelName: Conv2DBackpropFilter,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, dy } = inputs as NamedTensorInfoMap;
      if (x === undefined || dy === undefined) {
        throw new Error('Conv2DBackpropFilter (wasm): inputs x and dy are required');
      }
      const info = convInfo(x, dy, attrs as unknown as Conv2DBackpropFilterAttrs);
      return compute(x, dy, info, backend as BackendWasm);
    },
  };
}

function convInfo(x: TensorInfo, dy: TensorInfo, attrs: Conv2DBackpropFilterAttrs) {
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  if (dataFormat !== 'NHWC') {
    throw new Error(`Conv2DBackpropFilter (wasm) supports dataFormat 'NHWC' only, got '${dataFormat}'`);
  }
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') {
    throw new Error(`Conv2DBackpropFilter (wasm) needs float32 x and dy, got ${x.dtype} and ${dy.dtype}`);
  }
  if (x.shape.length !== 4 || dy.shape.length !== 4) {
    throw new Error(`Conv2DBackpropFilter (wasm) needs rank-4 x and dy, got [${x.shape}] and [${dy.shape}]`);
  }
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1, // the conv2d gradient itself requires dilations of 1
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  if (info.outShape.some((d, i) => d !== dy.shape[i])) {
    throw new Error(
      `Conv2DBackpropFilter (wasm): dy is [${dy.shape}] but x [${x.shape}], filter ` +
        `[${filterShape}] give [${info.outShape}]`,
    );
  }
  return info;
}

type KernelFn = (p: { inputs: NamedTensorInfoMap; backend: BackendWasm; attrs: NamedAttrMap }) => TensorInfo;

function wasmKernel(name: string): KernelFn {
  const config = getKernel(name, 'wasm');
  if (config === undefined) throw new Error(`wasm kernel ${name} is not registered`);
  return config.kernelFunc as unknown as KernelFn;
}

function viaXnnpackConv(
  x: TensorInfo,
  dy: TensorInfo,
  info: backend_util.Conv2DInfo,
  backend: BackendWasm,
): TensorInfo {
  const { inHeight: H, inWidth: W, outHeight: oH, outWidth: oW } = info;
  const { inChannels: cIn, outChannels: cOut } = info;
  const { filterHeight: kH, filterWidth: kW, strideHeight: sH, strideWidth: sW } = info;
  const { top, left } = info.padInfo;
  const transpose = wasmKernel(Transpose);
  const conv2d = wasmKernel(Conv2D);
  const temps: TensorInfo[] = [];
  try {
    // Batch becomes the channel axis (the reduction), Cin becomes the batch.
    const xT = transpose({ inputs: { x }, backend, attrs: { perm: [3, 1, 2, 0] } });
    temps.push(xT);
    const dyT = transpose({ inputs: { x: dy }, backend, attrs: { perm: [1, 2, 0, 3] } });
    temps.push(dyT);
    // Bottom/right padding sized so the result has exactly kH x kW taps; when the forward
    // pass never reached the last input rows (valid + stride), the extra taps are cropped.
    const bottom = Math.max(0, sH * (oH - 1) + kH - H - top);
    const right = Math.max(0, sW * (oW - 1) + kW - W - left);
    const taps = conv2d({
      inputs: { x: xT, filter: dyT },
      backend,
      attrs: {
        strides: 1,
        pad: [
          [0, 0],
          [top, bottom],
          [left, right],
          [0, 0],
        ],
        dataFormat: 'NHWC',
        dilations: [sH, sW],
      } as unknown as NamedAttrMap,
    });
    temps.push(taps);
    const [, tH = 0, tW = 0] = taps.shape;
    const out = backend.makeOutput([kH, kW, cIn, cOut], 'float32');
    // Views after makeOutput: allocating may grow (and detach) the wasm heap.
    const src = backend.typedArrayFromHeap(taps);
    const dst = backend.typedArrayFromHeap(out);
    // [Cin,tH,tW,Cout] -> [kH,kW,Cin,Cout], dropping taps beyond kH x kW: small, so JS.
    for (let kh = 0; kh < kH; kh++) {
      for (let kw = 0; kw < kW; kw++) {
        for (let ci = 0; ci < cIn; ci++) {
          const from = ((ci * tH + kh) * tW + kw) * cOut;
          dst.set(src.subarray(from, from + cOut), ((kh * kW + kw) * cIn + ci) * cOut);
        }
      }
    }
    return out;
  } finally {
    for (const t of temps) backend.disposeData(t.dataId);
  }
}

function viaJsLoops(x: TensorInfo, dy: TensorInfo, info: backend_util.Conv2DInfo, backend: BackendWasm): TensorInfo {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: cIn } = info;
  const { outHeight: oH, outWidth: oW, outChannels: cOut } = info;
  const { filterHeight: kH, filterWidth: kW, strideHeight: sH, strideWidth: sW } = info;
  const { top, left } = info.padInfo;
  const out = backend.makeOutput([kH, kW, cIn, cOut], 'float32');
  const xs = backend.typedArrayFromHeap(x);
  const dys = backend.typedArrayFromHeap(dy);
  const dw = backend.typedArrayFromHeap(out);
  const xStep = sW * cIn;
  // One dot product per filter weight, four output channels at a time: four independent
  // float64 sums share each x load, which beat accumulating into an array (2-4x here).
  for (let kh = 0; kh < kH; kh++) {
    // Output rows/columns whose tap (kh, kw) lands inside the input.
    const ohMin = Math.max(0, Math.ceil((top - kh) / sH));
    const ohEnd = Math.min(oH, Math.floor((H - 1 + top - kh) / sH) + 1);
    for (let kw = 0; kw < kW; kw++) {
      const owMin = Math.max(0, Math.ceil((left - kw) / sW));
      const count = Math.min(oW, Math.floor((W - 1 + left - kw) / sW) + 1) - owMin;
      for (let ci = 0; ci < cIn; ci++) {
        const base = ((kh * kW + kw) * cIn + ci) * cOut;
        for (let co = 0; co < cOut; co += 4) {
          const lanes = Math.min(4, cOut - co);
          let s0 = 0,
            s1 = 0,
            s2 = 0,
            s3 = 0;
          for (let n = 0; n < N; n++) {
            for (let oh = ohMin; oh < ohEnd; oh++) {
              let xi = ((n * H + oh * sH - top + kh) * W + owMin * sW - left + kw) * cIn + ci;
              let di = ((n * oH + oh) * oW + owMin) * cOut + co;
              if (lanes === 4) {
                for (let k = 0; k < count; k++, xi += xStep, di += cOut) {
                  const v = xs[xi]!;
                  s0 += v * dys[di]!;
                  s1 += v * dys[di + 1]!;
                  s2 += v * dys[di + 2]!;
                  s3 += v * dys[di + 3]!;
                }
              } else {
                for (let k = 0; k < count; k++, xi += xStep, di += cOut) {
                  const v = xs[xi]!;
                  s0 += v * dys[di]!;
                  if (lanes > 1) s1 += v * dys[di + 1]!;
                  if (lanes > 2) s2 += v * dys[di + 2]!;
                }
              }
            }
          }
          dw[base + co] = s0;
          if (lanes > 1) dw[base + co + 1] = s1;
          if (lanes > 2) dw[base + co + 2] = s2;
          if (lanes > 3) dw[base + co + 3] = s3;
        }
      }
    }
  }
  return out;
}
