import type * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from './native.js';
import { alloc } from './kernels/util.js';

/**
 * Batch norm in training as one forward and one backward kernel: the kernels behind
 * `batchNormTrain` of @mnist/models, which looks them up by these names and falls back
 * to tfjs's moments + FusedBatchNorm where a backend lacks them. Channels last, float32.
 *
 * - BatchNormTrain { x, scale, offset } -> [y, stats], stats = [mean; biased variance]
 *   from per-channel sums of x and x^2 in double (two passes over x instead of ~five);
 * - BatchNormTrainGrad { dy, x, stats, scale } -> [dx, [dscale; doffset]]: one pass for
 *   sum(dy) and sum(dy * (x - mean)), one for dx (instead of ~fifteen through moments).
 */
export const BATCH_NORM_TRAIN = 'BatchNormTrain';
export const BATCH_NORM_TRAIN_GRAD = 'BatchNormTrainGrad';

interface EpsilonAttrs { varianceEpsilon: number }

function checked(name: string, inputs: tf.NamedTensorInfoMap, scale: tf.TensorInfo, x: tf.TensorInfo): void {
  const channels = scale.shape[0];
  const ok = scale.shape.length === 1 && x.shape.length >= 2 && x.shape[x.shape.length - 1] === channels &&
    Object.values(inputs).every((t) => t?.dtype === 'float32');
  if (!ok) throw new Error(`${name}: needs float32 x [..., C] and scale [C] (got x ${JSON.stringify(x.shape)}, scale ${JSON.stringify(scale.shape)})`);
}

export function batchNormTrainKernels(backendName: string, addon: NativeAddon): tf.KernelConfig[] {
  const values = (b: MathBackendCPU, t: tf.TensorInfo) => b.data.get(t.dataId).values as Float32Array;
  return [
    {
      kernelName: BATCH_NORM_TRAIN,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const b = backend as MathBackendCPU;
        const { x, scale, offset } = inputs as { x: tf.TensorInfo; scale: tf.TensorInfo; offset: tf.TensorInfo };
        checked(BATCH_NORM_TRAIN, inputs, scale, x);
        const c = scale.shape[0]!;
        const y = alloc(b, values(b, x).length);
        const stats = new Float32Array(2 * c);
        addon.batchNormTrain(values(b, x), values(b, scale), values(b, offset), y, stats, (attrs as unknown as EpsilonAttrs).varianceEpsilon);
        return [b.makeTensorInfo(x.shape, 'float32', y), b.makeTensorInfo([2, c], 'float32', stats)];
      },
    },
    {
      kernelName: BATCH_NORM_TRAIN_GRAD,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const b = backend as MathBackendCPU;
        const { dy, x, stats, scale } = inputs as Record<'dy' | 'x' | 'stats' | 'scale', tf.TensorInfo>;
        checked(BATCH_NORM_TRAIN_GRAD, inputs, scale, x);
        const c = scale.shape[0]!;
        const dx = alloc(b, values(b, x).length);
        const dparams = new Float32Array(2 * c);
        addon.batchNormTrainGrad(values(b, dy), values(b, x), values(b, stats), values(b, scale), dx, dparams,
          (attrs as unknown as EpsilonAttrs).varianceEpsilon);
        return [b.makeTensorInfo(x.shape, 'float32', dx), b.makeTensorInfo([2, c], 'float32', dparams)];
      },
    },
  ];
}
