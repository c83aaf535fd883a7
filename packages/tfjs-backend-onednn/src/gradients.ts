import * as tf from '@tensorflow/tfjs-core';
import { BinaryOp, packParams, type NativeAddon } from './native.js';
import { alloc, f32, output, type Backend } from './kernels/util.js';

/**
 * Cheaper formulations of op gradients whose tfjs versions make many passes over large
 * tensors or build large constants in JavaScript. They compute the same values (up to
 * float rounding order), and only while `backendName` is the active backend: every
 * other backend keeps the registered gradient.
 *
 * - Mean: tfjs computes dx = (reshape(dy) * ones(x.shape)) / n, filling ones(x.shape)
 *   in a JavaScript loop (batch norm takes four means per layer per step: ~4 ms of a
 *   Regularized LeNet-5 step). Here dx = broadcastTo(reshape(dy) / n, x.shape).
 * - FusedBatchNorm (per-channel statistics, the only kind tfjs-layers makes): tfjs makes
 *   about 14 passes over x-sized tensors. Here dx is one broadcast multiply, and the
 *   mean, variance, scale and offset gradients come from two per-channel sums,
 *   sum(dy) and sum(dy * (x - mean)), taken together in one pass by a native kernel.
 */
export const BATCH_NORM_GRAD_SUMS = 'OnednnBatchNormGradSums';
/**
 * - Relu: tfjs computes dx = dy * step(x), two kernels and an x-sized intermediate per
 *   ReLU per step (LeNet-5 has five); here one native kernel computes the same products.
 */
export const RELU_GRAD = 'OnednnReluGrad';

const FAST = Symbol('onednn fast gradient');
type Marked = tf.GradConfig & { [FAST]?: true };

function override(kernelName: string, backendName: string, fast: (original: tf.GradConfig) => tf.GradFunc): void {
  const original = tf.getGradient(kernelName) as Marked | undefined;
  // Not registered yet (gradients come with tfjs-layers or @tensorflow/tfjs), or done.
  if (original == null || original[FAST]) return;
  const faster = fast(original);
  const config: Marked = {
    ...original,
    [FAST]: true,
    gradFunc: (dy, saved, attrs) =>
      tf.getBackend() === backendName ? faster(dy, saved, attrs) : original.gradFunc(dy, saved, attrs),
  };
  tf.registerGradient(config);
}

const meanGrad =
  (original: tf.GradConfig): tf.GradFunc =>
  (dy, saved, attrs) => {
    const x = saved[0];
    if (x == null || Array.isArray(dy)) return original.gradFunc(dy, saved, attrs);
    const axes = tf.util.parseAxisParam((attrs as unknown as tf.MeanAttrs).axis, x.shape);
    const reduceSize = tf.util.sizeFromShape(axes.map((a) => x.shape[a]!));
    const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    return { x: () => tf.broadcastTo(tf.div(tf.reshape(dy, kept), reduceSize), x.shape) };
  };

const batchNormGrad =
  (original: tf.GradConfig): tf.GradFunc =>
  (dy, saved, attrs) => {
    const [x, mean, variance, scale] = saved as Array<tf.Tensor | undefined>;
    const channels = mean?.shape[0];
    const eligible =
      x != null &&
      mean != null &&
      variance != null &&
      !Array.isArray(dy) &&
      mean.rank === 1 &&
      variance.rank === 1 &&
      x.rank >= 2 &&
      x.shape[x.rank - 1] === channels &&
      variance.shape[0] === channels &&
      (scale == null || (scale.rank === 1 && scale.shape[0] === channels)) &&
      [x, mean, variance, dy, scale].every((t) => t == null || t.dtype === 'float32');
    if (!eligible) return original.gradFunc(dy, saved, attrs);
    const g = dy as tf.Tensor;
    const epsilon = (attrs as unknown as tf.FusedBatchNormAttrs).varianceEpsilon;
    const s = scale ?? tf.scalar(1);
    // Computed here, not per input: each input's gradient is taken in its own scope, while
    // these belong to the whole backward pass (the engine disposes them at its end, as it
    // does tfjs's own eager intermediates).
    const r = tf.rsqrt(tf.add(variance, tf.scalar(epsilon)));
    const sums = tf.engine().runKernel(BATCH_NORM_GRAD_SUMS, { dy: g, x, mean }) as tf.Tensor;
    const sumDy = tf.slice(sums, [0], [channels!]);
    const sumDyCentered = tf.slice(sums, [channels!], [channels!]);
    return {
      x: () => tf.mul(g, tf.mul(r, s)),
      mean: () => tf.mul(tf.neg(tf.mul(r, s)), sumDy),
      variance: () => tf.mul(tf.mul(tf.mul(tf.pow(r, 3), -0.5), s), sumDyCentered),
      scale: () => tf.mul(r, sumDyCentered),
      offset: () => tf.add(sumDy, 0), // a new tensor: the caller disposes what it gets
    };
  };

const reluGrad =
  (original: tf.GradConfig): tf.GradFunc =>
  (dy, saved, attrs) => {
    const x = saved[0];
    if (
      x == null ||
      Array.isArray(dy) ||
      x.dtype !== 'float32' ||
      dy.dtype !== 'float32' ||
      !tf.util.arraysEqual(x.shape, dy.shape)
    ) {
      return original.gradFunc(dy, saved, attrs);
    }
    return { x: () => tf.engine().runKernel(RELU_GRAD, { dy, x }) as tf.Tensor };
  };

/** dy * step(x) in one pass (binary op reluGrad), for same-shape float32 dy and x. */
export function reluGradKernel(backendName: string, addon: NativeAddon): tf.KernelConfig {
  return {
    kernelName: RELU_GRAD,
    backendName,
    kernelFunc: ({ inputs, backend }) => {
      const { dy, x } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
      const b = backend as Backend;
      const [dys, xs] = [f32(b, dy)!, f32(b, x)!]; // float32: reluGrad only sends such
      const r = x.shape.length;
      const y = alloc(b, xs.length);
      addon.binary(BinaryOp.reluGrad, dys, xs, y, packParams([r, r, r, ...x.shape, ...x.shape, ...x.shape]));
      return output(b, x.shape, y);
    },
  };
}

/** The native kernel behind the batch-norm gradient: [sum(dy); sum(dy * (x - mean))]. */
export function batchNormGradSumsKernel(backendName: string, addon: NativeAddon): tf.KernelConfig {
  return {
    kernelName: BATCH_NORM_GRAD_SUMS,
    backendName,
    kernelFunc: ({ inputs, backend }) => {
      const { dy, x, mean } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo; mean: tf.TensorInfo };
      const b = backend as Backend;
      const sums = new Float32Array(2 * mean.shape[0]!);
      addon.batchNormGradSums(f32(b, dy)!, f32(b, x)!, f32(b, mean)!, sums); // float32: batchNormGrad only sends such
      return output(b, [2 * mean.shape[0]!], sums);
    },
  };
}

export function installFastGradients(backendName: string): void {
  override(tf.Mean, backendName, meanGrad);
  override(tf.FusedBatchNorm, backendName, batchNormGrad);
  override(tf.Relu, backendName, reluGrad);
}
