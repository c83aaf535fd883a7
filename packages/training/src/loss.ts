import * as tf from '@tensorflow/tfjs-core';

/**
 * Sum of softmax cross-entropy over the batch, divided by `denominator` (the global batch
 * size, so that gradients summed over data-parallel ranks equal the single-trainer mean).
 * A custom gradient keeps the backward pass to two ops: (softmax - onehot) * dy / denominator.
 */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, denominator: number): tf.Scalar {
  const numClasses = logits.shape[1];
  const onehot = tf.oneHot(labels, numClasses);
  const fn = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    const logp = tf.logSoftmax(x);
    // Saved tensors outlive the forward tidy; a captured one would be disposed before backward.
    save([logp, onehot]);
    const value = tf.div(tf.neg(tf.sum(tf.mul(onehot, logp))), denominator) as tf.Scalar;
    return {
      value,
      gradFunc: (dy, [savedLogp, savedOnehot]) =>
        tf.mul(tf.sub(tf.exp(savedLogp!), savedOnehot!), tf.div(dy, denominator)),
    };
  });
  return fn(logits) as tf.Scalar;
}

/** Number of rows whose arg-max equals the label, as a float scalar (stays on the device). */
export function countCorrect(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'float32'));
}
