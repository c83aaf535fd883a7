import type * as tf from '@tensorflow/tfjs-core';
import type { NativeAddon } from './native.js';
import { alloc, f32, MIN_NATIVE_SIZE, output, type Backend } from './kernels/util.js';

/**
 * The kernel behind the fused momentum optimizer of @mnist/training, which looks it up
 * by this name (and keeps tfjs's four kernels per variable where a backend lacks it):
 * MomentumUpdate { value, accumulation, gradient }, attrs { c, m } (c = -learning rate)
 * -> [newValue, newAccumulation], rounded as tfjs's Multiply and Add kernels round.
 */
export const MOMENTUM_UPDATE = 'MomentumUpdate';

export function momentumUpdateKernel(backendName: string, addon: NativeAddon): tf.KernelConfig {
  return {
    kernelName: MOMENTUM_UPDATE,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const b = backend as Backend;
      const { value, accumulation, gradient } = inputs as Record<'value' | 'accumulation' | 'gradient', tf.TensorInfo>;
      const [v, a, g] = [value, accumulation, gradient].map((t) => f32(b, t));
      if (v == null || a == null || g == null || a.length !== v.length || g.length !== v.length) {
        throw new Error(`${MOMENTUM_UPDATE}: value, accumulation and gradient must be float32 of one size`);
      }
      const { c, m } = attrs as unknown as { c: number; m: number };
      const [nv, na] = [alloc(b, v.length), alloc(b, v.length)];
      if (v.length >= MIN_NATIVE_SIZE) {
        addon.momentumUpdate(v, a, g, nv, na, c, m);
      } else {
        // Small arrays live on the V8 heap (N-API would copy them): the same float steps here.
        const [cf, mf] = [Math.fround(c), Math.fround(m)];
        for (let i = 0; i < v.length; i++) {
          na[i] = Math.fround(mf * a[i]!) + g[i]!;
          nv[i] = Math.fround(cf * na[i]!) + v[i]!;
        }
      }
      return [output(b, value.shape, nv), output(b, value.shape, na)];
    },
  };
}
