import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { countCorrect, crossEntropy } from './loss.js';

describe('crossEntropy', () => {
  const logits = tf.tensor2d([
    [2, 1, 0.1],
    [0.5, 2.5, -1],
    [0, 0, 3],
    [1, 1, 1],
  ]);
  const labels = tf.tensor1d([0, 1, 0, 2], 'int32');

  it('matches tfjs softmax cross-entropy, summed and divided by the given count', () => {
    const ref = tf.losses
      .softmaxCrossEntropy(tf.oneHot(labels, 3), logits, undefined, 0, tf.Reduction.SUM)
      .dataSync()[0]!;
    expect(crossEntropy(logits, labels, 1).dataSync()[0]).toBeCloseTo(ref, 5);
    expect(crossEntropy(logits, labels, 8).dataSync()[0]).toBeCloseTo(ref / 8, 6);
  });

  it('has the gradient (softmax - onehot) / count', () => {
    const g = tf.grad((x: tf.Tensor) => crossEntropy(x as tf.Tensor2D, labels, 4))(logits);
    const expected = tf.div(tf.sub(tf.softmax(logits), tf.oneHot(labels, 3)), 4);
    expect(Array.from(g.dataSync()).map((v) => +v.toFixed(6))).toEqual(
      Array.from(expected.dataSync()).map((v) => +v.toFixed(6)),
    );
  });

  it('counts arg-max hits', () => {
    expect(countCorrect(logits, labels).dataSync()[0]).toBe(2);
  });
});
