import type * as tf from '@tensorflow/tfjs-core';
import type { NativeAddon } from './native.js';
import { alloc, f32, output, type Backend } from './kernels/util.js';

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

interface EpsilonAttrs {
  varianceEpsilon: number;
}

/** The inputs' own Float32Arrays, once x is [..., C] for scale's C and all are float32. */
function arraysOf<K extends string>(
  name: string,
  b: Backend,
  inputs: Record<K | 'x' | 'scale', tf.TensorInfo>,
): Record<K | 'x' | 'scale', Float32Array> {
  const { x, scale } = inputs;
  const arrays = Object.fromEntries(Object.entries<tf.TensorInfo>(inputs).map(([k, t]) => [k, f32(b, t)]));
  const ok =
    scale.shape.length === 1 &&
    x.shape.length >= 2 &&
    x.shape[x.shape.length - 1] === scale.shape[0] &&
    Object.values(arrays).every((a) => a != null);
  if (!ok)
    throw new Error(
      `${name}: needs float32 x [..., C] and scale [C] ` +
        `(got x ${JSON.stringify(x.shape)}, scale ${JSON.stringify(scale.shape)})`,
    );
  return arrays as Record<K | 'x' | 'scale', Float32Array>;
}

export function batchNormTrainKernels(backendName: string, addon: NativeAddon): tf.KernelConfig[] {
  const epsilon = (attrs?: tf.NamedAttrMap) => (attrs as unknown as EpsilonAttrs).varianceEpsilon;
  return [
    {
      kernelName: BATCH_NORM_TRAIN,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const b = backend as Backend;
        const { x, scale } = inputs as Record<'x' | 'scale', tf.TensorInfo>;
        const a = arraysOf<'offset'>(BATCH_NORM_TRAIN, b, inputs as Record<'x' | 'scale' | 'offset', tf.TensorInfo>);
        const c = scale.shape[0]!;
        const [y, stats] = [alloc(b, a.x.length), new Float32Array(2 * c)];
        addon.batchNormTrain(a.x, a.scale, a.offset, y, stats, epsilon(attrs));
        return [output(b, x.shape, y), output(b, [2, c], stats)];
      },
    },
    {
      kernelName: BATCH_NORM_TRAIN_GRAD,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const b = backend as Backend;
        const { x, scale } = inputs as Record<'x' | 'scale', tf.TensorInfo>;
        const a = arraysOf<'dy' | 'stats'>(
          BATCH_NORM_TRAIN_GRAD,
          b,
          inputs as Record<'dy' | 'x' | 'stats' | 'scale', tf.TensorInfo>,
        );
        const c = scale.shape[0]!;
        const [dx, dparams] = [alloc(b, a.x.length), new Float32Array(2 * c)];
        addon.batchNormTrainGrad(a.dy, a.x, a.stats, a.scale, dx, dparams, epsilon(attrs));
        return [output(b, x.shape, dx), output(b, [2, c], dparams)];
      },
    },
  ];
}
