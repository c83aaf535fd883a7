import * as tf from '@tensorflow/tfjs-core';

/**
 * Batch norm in training, with the batch's own per-channel statistics (channels last).
 *
 * tfjs-layers computes it as moments (mean, centre, square, mean) then FusedBatchNorm,
 * and its gradient flows back through all of them: about fifteen passes over the
 * activation per step. A backend may instead implement two kernels under these names,
 * and then the whole layer is one forward and one backward kernel (a custom gradient):
 *
 * - `BatchNormTrain`: inputs { x, scale, offset } (scale and offset [C], x [..., C]),
 *   attrs { varianceEpsilon }; outputs [y, stats], stats = [2, C]: the mean and the
 *   biased variance (as tf.moments).
 * - `BatchNormTrainGrad`: inputs { dy, x, stats, scale }, attrs { varianceEpsilon };
 *   outputs [dx, dparams], dparams = [2, C]: dscale and doffset.
 *
 * The onednn backend (@mnist/tfjs-backend-onednn) implements both. Elsewhere this is
 * exactly tfjs-layers' computation. The statistics carry no gradient (the layer only
 * feeds them to its moving averages).
 */
export const BATCH_NORM_TRAIN = 'BatchNormTrain';
export const BATCH_NORM_TRAIN_GRAD = 'BatchNormTrainGrad';

export interface BatchNormTrainResult {
  y: tf.Tensor;
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
}

function fusedKernelsHere(x: tf.Tensor): boolean {
  const backend = tf.getBackend();
  return (
    x.dtype === 'float32' &&
    x.rank >= 2 &&
    tf.getKernel(BATCH_NORM_TRAIN, backend) != null &&
    tf.getKernel(BATCH_NORM_TRAIN_GRAD, backend) != null
  );
}

export function batchNormTrain(
  x: tf.Tensor,
  scale: tf.Tensor1D,
  offset: tf.Tensor1D,
  epsilon: number,
): BatchNormTrainResult {
  if (!fusedKernelsHere(x)) {
    const { mean, variance } = tf.moments(x, [...Array(x.rank - 1).keys()]);
    return {
      y: tf.batchNorm(x, mean, variance, offset, scale, epsilon),
      mean: mean as tf.Tensor1D,
      variance: variance as tf.Tensor1D,
    };
  }
  const attrs = { varianceEpsilon: epsilon } as unknown as tf.NamedAttrMap;
  const [y, stats] = tf.engine().runKernel(BATCH_NORM_TRAIN, { x, scale, offset }, attrs) as tf.Tensor[];
  const [mean, variance] = tf.unstack(stats!) as tf.Tensor1D[];
  return { y: y!, mean: mean!, variance: variance! };
}

tf.registerGradient({
  kernelName: BATCH_NORM_TRAIN,
  inputsToSave: ['x', 'scale'],
  outputsToSave: [false, true],
  gradFunc: (dys, saved, attrs) => {
    const [x, scale, stats] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
    const dy = (Array.isArray(dys) ? dys[0] : dys)!;
    // One kernel for all three; each input's closure picks its part (the engine
    // disposes these with the rest of the backward pass).
    const [dx, dparams] = tf.engine().runKernel(BATCH_NORM_TRAIN_GRAD, { dy, x, stats, scale }, attrs) as tf.Tensor[];
    const [dscale, doffset] = tf.unstack(dparams!);
    return { x: () => dx!, scale: () => dscale!, offset: () => doffset! };
  },
});
