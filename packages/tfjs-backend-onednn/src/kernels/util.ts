import {
  getKernel,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { Act, type NativeAddon } from '../native.js';
import type { BufferPool } from '../pool.js';

export type Backend = MathBackendCPU;

/**
 * Elementwise ops and reductions below this many elements stay on the cpu kernels: the
 * call dominates there, and a tiny typed array (on the V8 heap) would first have to be
 * moved off it before native code may see it.
 */
export const MIN_NATIVE_SIZE = 64;
type Inputs = Record<string, TensorInfo | undefined | null>;

export interface NativeKernelArgs<I extends Inputs, A> {
  inputs: I;
  attrs: A;
  backend: Backend;
  addon: NativeAddon;
}

/**
 * A native kernel: `run` returns the output, or null when this case is not handled
 * natively (dtype, data format, an exotic broadcast...), and the cpu kernel runs instead.
 */
export interface NativeKernel {
  kernelName: string;
  run(args: NativeKernelArgs<Inputs, NamedAttrMap>): TensorInfo | null;
}

export function defineKernel<I extends Inputs, A>(
  kernelName: string,
  run: (args: NativeKernelArgs<I, A>) => TensorInfo | null,
): NativeKernel {
  return { kernelName, run: run as unknown as NativeKernel['run'] };
}

/** Native runs and cpu fallbacks of one kernel, with the largest input a fallback saw. */
export interface KernelPathCount {
  native: number;
  fallback: number;
  largestFallback: number;
}

/** Set only while a test counts (countKernelPaths): production calls pay one check, not a map update. */
let kernelCounts: Map<string, KernelPathCount> | undefined;

/** Counts which path every kernel call takes from now on, into a fresh map (tests check it). */
export function countKernelPaths(): ReadonlyMap<string, KernelPathCount> {
  kernelCounts = new Map();
  return kernelCounts;
}

/** Stops counting. */
export function stopCountingKernelPaths(): void {
  kernelCounts = undefined;
}

function count(kernelName: string, native: boolean, inputs: Inputs): void {
  if (!kernelCounts) return;
  let c = kernelCounts.get(kernelName);
  if (!c) kernelCounts.set(kernelName, (c = { native: 0, fallback: 0, largestFallback: 0 }));
  if (native) {
    c.native++;
    return;
  }
  c.fallback++;
  for (const t of Object.values(inputs)) if (t) c.largestFallback = Math.max(c.largestFallback, sizeOf(t.shape));
}

/** Wraps a native kernel as a tfjs KernelConfig for `backendName`, falling back to cpu's. */
export function toKernelConfig(kernel: NativeKernel, backendName: string, addon: NativeAddon): KernelConfig {
  const cpu = getKernel(kernel.kernelName, 'cpu');
  if (cpu == null) throw new Error(`tfjs cpu has no kernel ${kernel.kernelName} to fall back to`);
  const fallback: KernelFunc = cpu.kernelFunc;
  const kernelFunc: KernelFunc = (args) => {
    // Empty tensors are rare and not worth a native path.
    for (const t of Object.values(args.inputs)) {
      if (t != null && sizeOf(t.shape) === 0) {
        count(kernel.kernelName, false, args.inputs as Inputs);
        return fallback(args);
      }
    }
    const out = kernel.run({
      inputs: args.inputs as Inputs,
      attrs: args.attrs ?? {},
      backend: args.backend as Backend,
      addon,
    });
    count(kernel.kernelName, out != null, args.inputs as Inputs);
    return out ?? fallback(args);
  };
  return { kernelName: kernel.kernelName, backendName, kernelFunc };
}

/** The tensor's own Float32Array, or null if it is not plain float32 data. */
export function f32(backend: Backend, t: TensorInfo | undefined | null): Float32Array | null {
  if (t == null || t.dtype !== 'float32') return null;
  const values = backend.data.get(t.dataId).values;
  return values instanceof Float32Array ? values : null;
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Storage for a kernel output of n floats. On the onednn backend it comes from the
 * buffer pool and holds stale data: the kernel must overwrite every element.
 */
export function alloc(backend: Backend, n: number): Float32Array {
  const pool = (backend as { pool?: BufferPool }).pool;
  return pool ? pool.take(n) : new Float32Array(n);
}

/** A new float32 tensor owning `values`. */
export function output(backend: Backend, shape: number[], values: Float32Array): TensorInfo {
  return backend.makeTensorInfo(shape, 'float32', values);
}

/** A fused activation as native code, or null for one left to the cpu kernel (prelu). */
export function activationCode(activation: string | undefined, leakyreluAlpha: number | undefined): number | null {
  switch (activation ?? 'linear') {
    case 'linear':
      return Act.linear;
    case 'relu':
      return Act.relu;
    case 'relu6':
      return Act.relu6;
    case 'elu':
      return Act.elu;
    case 'sigmoid':
      return Act.sigmoid;
    case 'leakyrelu':
      return leakyreluAlpha == null ? null : Act.leakyrelu;
    default:
      return null;
  }
}
