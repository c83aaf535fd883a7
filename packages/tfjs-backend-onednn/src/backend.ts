import * as tf from '@tensorflow/tfjs-core';
import type { backend_util } from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { NATIVE_KERNELS } from './kernels/index.js';
import { toKernelConfig } from './kernels/util.js';
import { defaultedEnv, native, type KernelPath } from './native.js';
import { BufferPool } from './pool.js';
import { batchNormTrainKernels } from './batch-norm-train.js';
import { momentumUpdateKernel } from './momentum-update.js';
import { batchNormGradSumsKernel, installFastGradients, reluGradKernel } from './gradients.js';

export const ONEDNN_BACKEND_NAME = 'onednn';

/**
 * cpu kernels whose output may be a subarray view of their input's array (they slice).
 * Such an input must never be recycled by the buffer pool.
 */
const SLICING_KERNELS = new Set([tf.Slice, tf.StridedSlice, tf.SplitV, tf.Unpack, tf.BatchToSpaceND]);

function pinSlicedInputs(config: tf.KernelConfig): tf.KernelFunc {
  if (!SLICING_KERNELS.has(config.kernelName)) return config.kernelFunc;
  const inner = config.kernelFunc;
  return (args) => {
    const backend = args.backend as OnednnBackend;
    for (const t of Object.values(args.inputs)) {
      if (t != null && backend.data.has(t.dataId)) backend.pool.escape(backend.data.get(t.dataId).values);
    }
    return inner(args);
  };
}

/**
 * Environment variables the addon set in this process when it loaded (OpenMP defaults,
 * see native.ts): a tool that spawns another OpenMP program (PyTorch) unsets them.
 */
export function onednnDefaultedEnv(): readonly string[] {
  return defaultedEnv;
}

export type OnednnAvailability =
  { available: true; version: string; kernels: KernelPath; why: string } | { available: false; reason: string };

/**
 * Whether the native addon loads here: which kernels it runs (oneDNN's, with its
 * version, or the portable ones), and why that build was taken; or why none loads.
 */
export function onednnAvailability(): OnednnAvailability {
  const loaded = native();
  if (!loaded.ok) return { available: false, reason: loaded.reason };
  return { available: true, version: loaded.addon.version(), kernels: loaded.addon.kernels(), why: loaded.why };
}

/**
 * The cpu backend with its hot kernels replaced by native ones. Tensor storage is the
 * cpu backend's (Float32Arrays in `data`), so every cpu kernel works unchanged on it.
 */
export class OnednnBackend extends MathBackendCPU {
  /** Storage for native kernel outputs, recycled when their tensors are disposed. */
  readonly pool = new BufferPool();

  override write(values: backend_util.BackendValues, shape: number[], dtype: tf.DataType): object {
    const dataId = super.write(values, shape, dtype);
    this.pool.adopt(values, dataId);
    return dataId;
  }

  override move(
    dataId: object,
    values: backend_util.BackendValues,
    shape: number[],
    dtype: tf.DataType,
    refCount: number,
  ): void {
    super.move(dataId, values, shape, dtype, refCount);
    this.pool.adopt(values, dataId);
  }

  override readSync(dataId: object): backend_util.BackendValues {
    // The caller now holds the very array (the cpu backend does not copy): never reuse it.
    if (this.data.has(dataId)) this.pool.escape(this.data.get(dataId).values);
    return super.readSync(dataId);
  }

  override disposeData(dataId: object, force = false): boolean {
    const values = this.data.has(dataId) ? this.data.get(dataId).values : undefined;
    const released = super.disposeData(dataId, force);
    if (released && values !== undefined && !this.data.has(dataId)) this.pool.release(values, dataId);
    return released;
  }

  override dispose(): void {
    this.pool.clear();
    super.dispose();
  }
}

/**
 * Registers the `onednn` backend and its kernels with tfjs-core. Idempotent; returns
 * false (and registers nothing) when the addon is unavailable. It does not switch the
 * active backend: call `tf.setBackend('onednn')`, or pass a priority above the others'
 * (cpu 1, wasm 2) for tfjs to pick it when no backend has been chosen yet.
 */
export function registerOnednnBackend(priority = 0): boolean {
  const loaded = native();
  if (!loaded.ok) return false;
  if (tf.findBackendFactory(ONEDNN_BACKEND_NAME) != null) return true;

  // TFJS_ONEDNN_EXCLUDE=Add,Sum leaves those kernels to the cpu implementation (a debugging aid).
  const excluded = new Set((process.env.TFJS_ONEDNN_EXCLUDE ?? '').split(',').filter(Boolean));
  const nativeNames = new Set<string>();
  for (const kernel of NATIVE_KERNELS.filter((k) => !excluded.has(k.kernelName))) {
    if (tf.getKernel(kernel.kernelName, ONEDNN_BACKEND_NAME) == null) {
      tf.registerKernel(toKernelConfig(kernel, ONEDNN_BACKEND_NAME, loaded.addon));
    }
    nativeNames.add(kernel.kernelName);
  }
  // Kernels that are not tfjs's: behind our faster gradients, and the ones @mnist/models
  // and @mnist/training look up by name.
  const ours = [
    batchNormGradSumsKernel(ONEDNN_BACKEND_NAME, loaded.addon),
    reluGradKernel(ONEDNN_BACKEND_NAME, loaded.addon),
    ...batchNormTrainKernels(ONEDNN_BACKEND_NAME, loaded.addon),
    momentumUpdateKernel(ONEDNN_BACKEND_NAME, loaded.addon),
  ];
  for (const config of ours) {
    if (tf.getKernel(config.kernelName, ONEDNN_BACKEND_NAME) == null) tf.registerKernel(config);
  }
  // Everything else runs as on cpu: same kernel functions, same storage.
  for (const config of tf.getKernelsForBackend('cpu')) {
    if (nativeNames.has(config.kernelName) || tf.getKernel(config.kernelName, ONEDNN_BACKEND_NAME) != null) continue;
    tf.registerKernel({ ...config, backendName: ONEDNN_BACKEND_NAME, kernelFunc: pinSlicedInputs(config) });
  }
  installFastGradients(ONEDNN_BACKEND_NAME);
  return tf.registerBackend(
    ONEDNN_BACKEND_NAME,
    () => {
      // Again when tfjs first uses the backend, in case the op gradients were registered
      // (by importing tfjs-layers) after registerOnednnBackend().
      installFastGradients(ONEDNN_BACKEND_NAME);
      return new OnednnBackend();
    },
    priority,
  );
}
