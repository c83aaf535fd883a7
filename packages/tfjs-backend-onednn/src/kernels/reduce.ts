import {
  backend_util,
  FusedBatchNorm,
  Max,
  Mean,
  Min,
  Prod,
  Softmax,
  Sum,
  util,
  type FusedBatchNormAttrs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { ReduceOp } from '../native.js';
import { alloc, defineKernel, f32, MIN_NATIVE_SIZE, output, type NativeKernel } from './util.js';

/**
 * Views x as [outer, reduce, inner] when the reduced axes form one block (ignoring
 * axes of size 1); null when they do not (the cpu kernel transposes first).
 */
export function reductionView(shape: number[], axes: number[]): [number, number, number] | null {
  const reduced = new Set(axes);
  let outer = 1,
    red = 1,
    inner = 1;
  let phase = 0; // 0: before the block, 1: in it, 2: after it
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i]!;
    if (d === 1) continue;
    if (reduced.has(i)) {
      if (phase === 2) return null;
      phase = 1;
      red *= d;
    } else if (phase === 0) {
      outer *= d;
    } else {
      phase = 2;
      inner *= d;
    }
  }
  return [outer, red, inner];
}

type ReduceAttrs = { axis?: number | number[]; reductionIndices?: number | number[]; keepDims: boolean };

function reduction(kernelName: string, op: number): NativeKernel {
  return defineKernel<{ x: TensorInfo }, ReduceAttrs>(kernelName, ({ inputs: { x }, attrs, backend, addon }) => {
    const xs = f32(backend, x);
    if (!xs || xs.length < MIN_NATIVE_SIZE) return null;
    const axes = util.parseAxisParam((attrs.axis ?? attrs.reductionIndices)!, x.shape);
    const view = reductionView(x.shape, axes);
    if (!view) return null;
    let [outShape] = backend_util.computeOutAndReduceShapes(x.shape, axes);
    if (attrs.keepDims) outShape = backend_util.expandShapeToKeepDim(outShape, axes);
    const y = alloc(backend, view[0] * view[2]);
    addon.reduce(op, xs, view[0], view[1], view[2], y);
    return output(backend, outShape, y);
  });
}

export const softmaxKernel = defineKernel<{ logits: TensorInfo }, { dim: number }>(
  Softmax,
  ({ inputs: { logits }, attrs, backend, addon }) => {
    const xs = f32(backend, logits);
    const rank = logits.shape.length;
    if (!xs || rank === 0) return null;
    const dim = attrs.dim < 0 ? attrs.dim + rank : attrs.dim;
    if (dim !== rank - 1) return null; // the cpu kernel throws for other axes; let it
    const cols = logits.shape[rank - 1]!;
    const y = alloc(backend, xs.length);
    addon.softmax(xs, y, xs.length / cols, cols, false);
    return output(backend, logits.shape, y);
  },
);

export const batchNormKernel = defineKernel<
  { x: TensorInfo; mean: TensorInfo; variance: TensorInfo; offset?: TensorInfo; scale?: TensorInfo },
  FusedBatchNormAttrs
>(FusedBatchNorm, ({ inputs: { x, mean, variance, offset, scale }, attrs, backend, addon }) => {
  const xs = f32(backend, x),
    ms = f32(backend, mean),
    vs = f32(backend, variance);
  const os = offset ? f32(backend, offset) : null,
    ss = scale ? f32(backend, scale) : null;
  if (!xs || !ms || !vs || (offset && !os) || (scale && !ss)) return null;
  // Same rank checks as the cpu kernel, which raises the error.
  if (mean.shape.length !== variance.shape.length) return null;
  if (offset && offset.shape.length !== mean.shape.length) return null;
  if (scale && scale.shape.length !== mean.shape.length) return null;
  const y = alloc(backend, xs.length);
  addon.batchNorm(xs, ms, vs, os, ss, y, attrs.varianceEpsilon ?? 0.001);
  return output(backend, x.shape, y);
});

export const reduceKernels: NativeKernel[] = [
  reduction(Sum, ReduceOp.sum),
  reduction(Mean, ReduceOp.mean),
  reduction(Max, ReduceOp.max),
  reduction(Min, ReduceOp.min),
  reduction(Prod, ReduceOp.prod),
  softmaxKernel,
  batchNormKernel,
];
