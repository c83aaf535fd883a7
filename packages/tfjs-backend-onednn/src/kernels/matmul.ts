import {
  BatchMatMul,
  _FusedMatMul,
  broadcast_util,
  type BatchMatMulAttrs,
  type TensorInfo,
  type _FusedMatMulAttrs,
} from '@tensorflow/tfjs-core';
import { Act, packParams } from '../native.js';
import type { NativeAddon } from '../native.js';
import { activationCode, alloc, defineKernel, f32, output, sizeOf, type Backend } from './util.js';

function matMul(
  backend: Backend,
  addon: NativeAddon,
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  bias: TensorInfo | null | undefined,
  act: number,
  alpha: number,
): TensorInfo | null {
  const as = f32(backend, a),
    bs = f32(backend, b);
  if (!as || !bs || a.shape.length < 2 || b.shape.length < 2) return null;
  const ar = a.shape.length,
    br = b.shape.length;
  const m = transposeA ? a.shape[ar - 1]! : a.shape[ar - 2]!;
  const k = transposeA ? a.shape[ar - 2]! : a.shape[ar - 1]!;
  const kb = transposeB ? b.shape[br - 1]! : b.shape[br - 2]!;
  const n = transposeB ? b.shape[br - 2]! : b.shape[br - 1]!;
  if (k !== kb) return null; // let the cpu kernel raise its error
  const batchA = sizeOf(a.shape.slice(0, -2)),
    batchB = sizeOf(b.shape.slice(0, -2));
  // The cpu kernel pairs batch i with a[i % batchA], b[i % batchB]; that is a true
  // broadcast only when the batches are equal or one is 1. Anything else goes to cpu.
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return null;
  const outShape = [...broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2)), m, n];
  const batch = Math.max(batchA, batchB);
  let biasValues: Float32Array | null = null;
  if (bias != null) {
    const values = f32(backend, bias);
    if (values == null || bias.shape.length > outShape.length) return null;
    if (values.length === n) biasValues = values;
    else if (values.length === 1) biasValues = new Float32Array(n).fill(values[0]!);
    else return null;
    // A bias of N values must broadcast along the last axis only.
    if (values.length === n && bias.shape.length > 0 && bias.shape[bias.shape.length - 1] !== n) return null;
  }
  const c = alloc(backend, batch * m * n);
  addon.matMul(
    as,
    bs,
    c,
    packParams([batchA, batchB, batch, m, n, k, transposeA ? 1 : 0, transposeB ? 1 : 0]),
    biasValues,
    act,
    alpha,
  );
  return output(backend, outShape, c);
}

export const batchMatMulKernel = defineKernel<{ a: TensorInfo; b: TensorInfo }, BatchMatMulAttrs>(
  BatchMatMul,
  ({ inputs: { a, b }, attrs, backend, addon }) =>
    matMul(backend, addon, a, b, attrs.transposeA, attrs.transposeB, null, Act.linear, 0),
);

export const fusedMatMulKernel = defineKernel<
  { a: TensorInfo; b: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo },
  _FusedMatMulAttrs
>(_FusedMatMul, ({ inputs: { a, b, bias }, attrs, backend, addon }) => {
  const act = activationCode(attrs.activation, attrs.leakyreluAlpha);
  if (act == null) return null;
  return matMul(backend, addon, a, b, attrs.transposeA, attrs.transposeB, bias, act, attrs.leakyreluAlpha ?? 0);
});

export const matMulKernels = [batchMatMulKernel, fusedMatMulKernel];
