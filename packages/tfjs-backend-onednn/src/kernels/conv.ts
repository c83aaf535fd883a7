import {
  backend_util,
  Conv2D,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  FusedConv2D,
  type Conv2DAttrs,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropInputAttrs,
  type FusedConv2DAttrs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { Act, packParams } from '../native.js';
import { activationCode, alloc, defineKernel, f32, output, sizeOf, type Backend } from './util.js';

type Shape4 = [number, number, number, number];

/** [N, IH, IW, IC, OH, OW, OC, KH, KW, SH, SW, DH, DW, PT, PL, PB, PR], as native/conv.cc reads it. */
export function convDims(c: backend_util.Conv2DInfo): Int32Array {
  const p = c.padInfo;
  return packParams([
    c.batchSize,
    c.inHeight,
    c.inWidth,
    c.inChannels,
    c.outHeight,
    c.outWidth,
    c.outChannels,
    c.filterHeight,
    c.filterWidth,
    c.strideHeight,
    c.strideWidth,
    c.dilationHeight,
    c.dilationWidth,
    p.top,
    p.left,
    p.bottom,
    p.right,
  ]);
}

function convInfo(
  xShape: number[],
  filterShape: number[],
  attrs: Conv2DAttrs,
  dilations: Conv2DAttrs['dilations'],
): backend_util.Conv2DInfo | null {
  if (attrs.dataFormat === 'NCHW') return null;
  return backend_util.computeConv2DInfo(
    xShape as Shape4,
    filterShape as Shape4,
    attrs.strides,
    dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
}

/** A bias of OC values (any shape of that size), or a scalar bias spread to OC values. */
function channelBias(
  backend: Backend,
  bias: TensorInfo | null | undefined,
  channels: number,
): Float32Array | null | false {
  if (bias == null) return null;
  const values = f32(backend, bias);
  if (values == null) return false;
  if (bias.shape.length > 4) return false;
  if (values.length === channels && bias.shape[bias.shape.length - 1] === channels) return values;
  if (values.length === 1) return new Float32Array(channels).fill(values[0]!);
  return false;
}

export const conv2DKernel = defineKernel<{ x: TensorInfo; filter: TensorInfo }, Conv2DAttrs>(
  Conv2D,
  ({ inputs: { x, filter }, attrs, backend, addon }) => {
    const xs = f32(backend, x),
      ws = f32(backend, filter);
    const info = convInfo(x.shape, filter.shape, attrs, attrs.dilations);
    if (!xs || !ws || !info || sizeOf(info.outShape) === 0) return null;
    const y = alloc(backend, sizeOf(info.outShape));
    addon.conv2d(xs, ws, null, y, convDims(info), Act.linear, 0);
    return output(backend, info.outShape, y);
  },
);

export const fusedConv2DKernel = defineKernel<
  { x: TensorInfo; filter: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo },
  FusedConv2DAttrs
>(FusedConv2D, ({ inputs: { x, filter, bias }, attrs, backend, addon }) => {
  const xs = f32(backend, x),
    ws = f32(backend, filter);
  const info = convInfo(x.shape, filter.shape, attrs, attrs.dilations);
  const act = activationCode(attrs.activation, attrs.leakyreluAlpha);
  if (!xs || !ws || !info || act == null || sizeOf(info.outShape) === 0) return null;
  const b = channelBias(backend, bias, info.outChannels);
  if (b === false) return null;
  const y = alloc(backend, sizeOf(info.outShape));
  addon.conv2d(xs, ws, b, y, convDims(info), act, attrs.leakyreluAlpha ?? 0);
  return output(backend, info.outShape, y);
});

export const conv2DBackpropInputKernel = defineKernel<{ dy: TensorInfo; filter: TensorInfo }, Conv2DBackpropInputAttrs>(
  Conv2DBackpropInput,
  ({ inputs: { dy, filter }, attrs, backend, addon }) => {
    const dys = f32(backend, dy),
      ws = f32(backend, filter);
    const info = convInfo(attrs.inputShape as number[], filter.shape, attrs as unknown as Conv2DAttrs, 1);
    if (!dys || !ws || !info || sizeOf(info.inShape) === 0) return null;
    const dx = alloc(backend, sizeOf(info.inShape));
    addon.conv2dBackpropInput(dys, ws, dx, convDims(info));
    return output(backend, info.inShape, dx);
  },
);

export const conv2DBackpropFilterKernel = defineKernel<{ x: TensorInfo; dy: TensorInfo }, Conv2DBackpropFilterAttrs>(
  Conv2DBackpropFilter,
  ({ inputs: { x, dy }, attrs, backend, addon }) => {
    const xs = f32(backend, x),
      dys = f32(backend, dy);
    const info = convInfo(x.shape, attrs.filterShape as number[], attrs as unknown as Conv2DAttrs, 1);
    if (!xs || !dys || !info || sizeOf(info.filterShape) === 0) return null;
    const dw = alloc(backend, sizeOf(info.filterShape));
    addon.conv2dBackpropFilter(xs, dys, dw, convDims(info));
    return output(backend, info.filterShape, dw);
  },
);

export const convKernels = [conv2DKernel, fusedConv2DKernel, conv2DBackpropInputKernel, conv2DBackpropFilterKernel];
