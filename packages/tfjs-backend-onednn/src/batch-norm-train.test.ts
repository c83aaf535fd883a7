import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import * as models from '@mnist/models';
import { describeOnednn, expectSameGradients } from '../test/compare.js';
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD } from './batch-norm-train.js';
import { ONEDNN_BACKEND_NAME } from './backend.js';

// batchNormTrain on cpu is tfjs-layers' computation (moments, then FusedBatchNorm, and
// their gradients); on onednn it is the two fused kernels. Outputs: y, then the
// gradients with respect to x, scale and offset.
const train = (x: tf.Tensor, scale: tf.Tensor, offset: tf.Tensor) =>
  models.batchNormTrain(x, scale as tf.Tensor1D, offset as tf.Tensor1D, 1e-5).y;

describeOnednn('batch norm in training: one forward and one backward kernel', () => {
  it('implements the kernels @mnist/models looks for', () => {
    expect([models.BATCH_NORM_TRAIN, models.BATCH_NORM_TRAIN_GRAD]).toEqual([BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD]);
    expect(tf.getKernel(BATCH_NORM_TRAIN, ONEDNN_BACKEND_NAME)).toBeDefined();
    expect(tf.getKernel(BATCH_NORM_TRAIN_GRAD, ONEDNN_BACKEND_NAME)).toBeDefined();
  });

  const cases: Array<[string, number[], number, number]> = [
    ['BN1 of lenet5-reg', [16, 28, 28, 6], -2, 3],
    ['BN3 of lenet5-reg', [16, 10, 10, 16], -1, 1],
    ['128 channels (no lane folding)', [40, 128], -1, 1],
    ['rows not a multiple of the folded lanes', [5, 7, 3], -1, 1],
    ['a large mean over a small spread (the variance must not cancel away)', [8, 9, 9, 6], 100, 100.5],
  ];
  for (const [label, shape, lo, hi] of cases) {
    it(`${label} ${JSON.stringify(shape)}: y and the gradients of x, scale, offset equal tfjs's`, async () => {
      const c = shape[shape.length - 1]!;
      await expectSameGradients([{ shape, lo, hi }, { shape: [c], lo: 0.5, hi: 2 }, { shape: [c] }], train, {
        rtol: 1e-3,
        atol: 1e-4,
      });
    });
  }

  it('returns the batch mean and biased variance, as tf.moments', async () => {
    await tf.setBackend(ONEDNN_BACKEND_NAME);
    const x = tf.randomUniform([32, 5, 5, 6], 3, 7, 'float32', 11);
    const expected = tf.moments(x, [0, 1, 2]);
    const { y, mean, variance } = models.batchNormTrain(x, tf.ones([6]), tf.zeros([6]), 1e-5);
    const profile = await tf.profile(() => models.batchNormTrain(x, tf.ones([6]), tf.zeros([6]), 1e-5).y);
    expect(profile.kernelNames).toContain(BATCH_NORM_TRAIN);
    for (const [a, b] of [
      [mean, expected.mean],
      [variance, expected.variance],
    ] as const) {
      const [av, bv] = [a.dataSync(), b.dataSync()];
      av.forEach((v, i) => expect(v).toBeCloseTo(bv[i]!, 4));
    }
    tf.dispose([x, y, mean, variance, expected.mean, expected.variance]);
  });

  it('rejects a channel count that does not match', async () => {
    await tf.setBackend(ONEDNN_BACKEND_NAME);
    const x = tf.zeros([4, 3, 3, 6]);
    expect(() =>
      tf.engine().runKernel(BATCH_NORM_TRAIN, { x, scale: tf.ones([5]), offset: tf.zeros([5]) }, {
        varianceEpsilon: 1e-5,
      } as unknown as tf.NamedAttrMap),
    ).toThrow(/needs float32 x \[\.\.\., C\] and scale \[C\]/);
  });
});
