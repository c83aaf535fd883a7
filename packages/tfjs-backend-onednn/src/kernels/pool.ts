import {
  AvgPool,
  backend_util,
  MaxPool,
  MaxPoolGrad,
  type AvgPoolAttrs,
  type MaxPoolAttrs,
  type MaxPoolGradAttrs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { packParams } from '../native.js';
import { alloc, defineKernel, f32, output, sizeOf } from './util.js';

type Shape4 = [number, number, number, number];

/** [N, IH, IW, C, OH, OW, KH, KW, SH, SW, DH, DW, PT, PL], as native/pool.cc reads it. */
function poolDims(c: backend_util.Conv2DInfo): Int32Array {
  return packParams([
    c.batchSize,
    c.inHeight,
    c.inWidth,
    c.inChannels,
    c.outHeight,
    c.outWidth,
    c.filterHeight,
    c.filterWidth,
    c.strideHeight,
    c.strideWidth,
    c.dilationHeight,
    c.dilationWidth,
    c.padInfo.top,
    c.padInfo.left,
  ]);
}

function poolInfo(shape: number[], attrs: MaxPoolAttrs): backend_util.Conv2DInfo | null {
  if (shape.length !== 4) return null;
  const info = backend_util.computePool2DInfo(
    shape as Shape4,
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  // The cpu kernel turns a 1x1 window that keeps the shape into an identity; so do we.
  const identity =
    info.filterHeight === 1 &&
    info.filterWidth === 1 &&
    info.outHeight === info.inHeight &&
    info.outWidth === info.inWidth;
  return identity ? null : info;
}

export const maxPoolKernel = defineKernel<{ x: TensorInfo }, MaxPoolAttrs>(
  MaxPool,
  ({ inputs: { x }, attrs, backend, addon }) => {
    const xs = f32(backend, x);
    const info = poolInfo(x.shape, attrs);
    if (!xs || !info) return null;
    const y = alloc(backend, sizeOf(info.outShape));
    addon.maxPool(xs, y, poolDims(info));
    return output(backend, info.outShape, y);
  },
);

export const maxPoolGradKernel = defineKernel<
  { dy: TensorInfo; input: TensorInfo; output: TensorInfo },
  MaxPoolGradAttrs
>(MaxPoolGrad, ({ inputs: { dy, input }, attrs, backend, addon }) => {
  const dys = f32(backend, dy),
    xs = f32(backend, input);
  if (!dys || !xs || input.shape.length !== 4) return null;
  // The gradient always recomputes the window geometry (the cpu kernel does too).
  const info = backend_util.computePool2DInfo(
    input.shape as Shape4,
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const dx = alloc(backend, xs.length);
  addon.maxPoolGrad(dys, xs, dx, poolDims(info));
  return output(backend, input.shape, dx);
});

export const avgPoolKernel = defineKernel<{ x: TensorInfo }, AvgPoolAttrs>(
  AvgPool,
  ({ inputs: { x }, attrs, backend, addon }) => {
    const xs = f32(backend, x);
    const info = poolInfo(x.shape, attrs);
    if (!xs || !info) return null;
    const y = alloc(backend, sizeOf(info.outShape));
    addon.avgPool(xs, y, poolDims(info));
    return output(backend, info.outShape, y);
  },
);

export const poolKernels = [maxPoolKernel, maxPoolGradKernel, avgPoolKernel];
