import * as tf from '@tensorflow/tfjs-core';
import { it } from 'vitest';
import { describeOnednn, expectSameGradients, expectSameOnBoth } from '../../test/compare.js';

describeOnednn('BatchMatMul / _FusedMatMul', () => {
  const shapes: Array<[string, number[], number[], boolean, boolean]> = [
    ['dense layer [64,784]x[784,70]', [64, 784], [784, 70], false, false],
    ['transposeA', [30, 20], [30, 10], true, false],
    ['transposeB', [20, 30], [10, 30], false, true],
    ['both transposed', [30, 20], [10, 30], true, true],
    ['batched [3,5,7]x[3,7,4]', [3, 5, 7], [3, 7, 4], false, false],
    ['vector-like [1,9]x[9,1]', [1, 9], [9, 1], false, false],
  ];
  for (const [name, a, b, ta, tb] of shapes) {
    it(`${name}: forward and gradients`, async () => {
      await expectSameGradients([{ shape: a }, { shape: b }], (x, y) => tf.matMul(x, y, ta, tb), {
        label: name,
        native: ['BatchMatMul'],
      });
    });
  }

  // tfjs has no gradient for broadcast batches (its BatchMatMul gradient keeps the batch).
  for (const [a, b] of [
    [
      [2, 3, 5, 7],
      [7, 4],
    ],
    [
      [1, 5, 7],
      [4, 7, 6],
    ],
  ]) {
    it(`broadcast batch ${JSON.stringify(a)}x${JSON.stringify(b)}: forward`, async () => {
      await expectSameOnBoth([{ shape: a! }, { shape: b! }], (x, y) => tf.matMul(x, y), { native: ['BatchMatMul'] });
    });
  }

  for (const activation of ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu'] as const) {
    it(`fused bias + ${activation}`, async () => {
      await expectSameOnBoth(
        [{ shape: [64, 120] }, { shape: [120, 84] }, { shape: [84] }],
        (a, b, bias) => tf.fused.matMul({ a, b, bias, activation, leakyreluAlpha: 0.2 }),
        { label: activation, native: ['_FusedMatMul'] },
      );
    });
  }

  it('fused with a [1,N] bias and transposes; gradients of the linear fused op', async () => {
    await expectSameGradients(
      [{ shape: [84, 64] }, { shape: [10, 84] }, { shape: [1, 10] }],
      (a, b, bias) => tf.fused.matMul({ a, b, bias, transposeA: true, transposeB: true }),
      { native: ['_FusedMatMul', 'BatchMatMul'] },
    );
  });
});
