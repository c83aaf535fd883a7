import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { describeOnednn, expectSameGradients, expectSameOnBoth } from '../../test/compare.js';
import { reductionView } from './reduce.js';
import { MIN_NATIVE_SIZE } from './util.js';

const reductions: Array<[string, (x: tf.Tensor, axis: number | number[], keepDims: boolean) => tf.Tensor]> = [
  ['Sum', tf.sum],
  ['Mean', tf.mean],
  ['Max', tf.max],
  ['Min', tf.min],
  ['Prod', tf.prod],
];

// [shape, axes]: bias gradients (leading axes), per-row (last axis), middle blocks, all.
const axesCases: Array<[number[], number | number[]]> = [
  [
    [64, 28, 28, 6],
    [0, 1, 2],
  ],
  [
    [64, 10, 10, 16],
    [0, 1, 2],
  ],
  [[64, 84], 0],
  [[64, 10], -1],
  [
    [64, 10],
    [0, 1],
  ],
  [
    [4, 5, 6, 7],
    [1, 2],
  ],
  [
    [4, 1, 6, 7],
    [1, 2],
  ],
  [[300, 7], 0],
  [[3, 700], 1],
  [
    [4, 5, 6],
    [0, 2],
  ], // not one block: cpu fallback
];

describeOnednn('reductions', () => {
  for (const [kernel, op] of reductions) {
    for (const [shape, axes] of axesCases) {
      const contiguous = !(shape.length === 3 && Array.isArray(axes) && axes[0] === 0 && axes[1] === 2);
      const big = shape.reduce((p, d) => p * d, 1) >= MIN_NATIVE_SIZE;
      it(`${kernel} ${JSON.stringify(shape)} over ${JSON.stringify(axes)}`, async () => {
        const native = contiguous && big ? [kernel] : [];
        if (kernel === 'Prod') {
          // Factors near 1 (long products over/underflow); forward only, as tfjs's Prod
          // gradient fails on these axes on every backend.
          await expectSameOnBoth([{ shape, lo: 0.95, hi: 1.05 }], (x) => op(x, axes, false), { native });
        } else {
          await expectSameGradients([{ shape }], (x) => op(x, axes, false), { native });
        }
        await expectSameOnBoth([{ shape, lo: 0.95, hi: 1.05 }], (x) => op(x, axes, true));
      });
    }
  }

  it('reductionView collapses size-1 axes and finds the block', () => {
    expect(reductionView([64, 28, 28, 6], [0, 1, 2])).toEqual([1, 64 * 28 * 28, 6]);
    expect(reductionView([64, 10], [1])).toEqual([64, 10, 1]);
    expect(reductionView([4, 1, 6, 7], [1, 2])).toEqual([4, 6, 7]);
    expect(reductionView([4, 5, 1, 6], [1, 3])).toEqual([4, 30, 1]);
    expect(reductionView([4, 5, 2, 6], [1, 3])).toBeNull();
    expect(reductionView([4, 5, 6], [])).toEqual([120, 1, 1]);
  });

  it('Softmax and the softmax cross-entropy the loss uses', async () => {
    await expectSameGradients([{ shape: [64, 10], lo: -5, hi: 5 }], (x) => tf.softmax(x), { native: ['Softmax'] });
    await expectSameGradients(
      [
        { shape: [64, 10], lo: -5, hi: 5 },
        { shape: [64, 10], lo: 0, hi: 1 },
      ],
      (logits, labels) => tf.losses.softmaxCrossEntropy(labels, logits),
    );
  });
});

describeOnednn('FusedBatchNorm', () => {
  it('per-channel parameters (the lenet5-reg case), forward and gradients', async () => {
    await expectSameGradients(
      [{ shape: [16, 28, 28, 6] }, { shape: [6] }, { shape: [6], lo: 0.5, hi: 2 }, { shape: [6] }, { shape: [6] }],
      (x, mean, variance, offset, scale) =>
        tf.batchNorm(
          x as tf.Tensor4D,
          mean as tf.Tensor1D,
          variance as tf.Tensor1D,
          offset as tf.Tensor1D,
          scale as tf.Tensor1D,
          1e-5,
        ),
      { native: ['FusedBatchNorm'] },
    );
  });

  it('without offset/scale, scalar and odd-length parameters', async () => {
    await expectSameOnBoth(
      [{ shape: [10, 12] }, { shape: [12] }, { shape: [12], lo: 0.5, hi: 2 }, { shape: [] }, { shape: [4] }],
      (x, mean, variance, s, odd) => [
        tf.batchNorm(x, mean, variance),
        tf.batchNorm(x, s, tf.add(s, 2), undefined, s),
        tf.batchNorm(x, odd, tf.add(tf.abs(odd), 1), odd, odd, 0.01),
      ],
      { native: ['FusedBatchNorm'] },
    );
  });

  it('training-mode normalisation as tfjs-layers does it (moments, then batchNorm)', async () => {
    await expectSameGradients(
      [{ shape: [16, 10, 10, 16], lo: -2, hi: 3 }, { shape: [16] }, { shape: [16] }],
      (x, beta, gamma) => {
        const { mean, variance } = tf.moments(x, [0, 1, 2]);
        return tf.batchNorm(x as tf.Tensor4D, mean, variance, beta as tf.Tensor1D, gamma as tf.Tensor1D, 1e-5);
      },
      { native: ['FusedBatchNorm', 'Mean'] },
    );
  });
});
