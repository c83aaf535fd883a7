import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { describeOnednn, expectSameGradients, expectSameOnBoth, kernelCounts } from '../../test/compare.js';
import { MIN_NATIVE_SIZE, sizeOf } from './util.js';

// Broadcasts the models produce (bias adds, per-row softmax pieces, scalars in the
// optimizer) and a few awkward ones.
const broadcasts: Array<[number[], number[]]> = [
  [
    [64, 28, 28, 6],
    [64, 28, 28, 6],
  ],
  [[64, 28, 28, 6], [6]],
  [[6], [64, 28, 28, 6]],
  [
    [64, 10],
    [64, 1],
  ],
  [
    [64, 1],
    [64, 10],
  ],
  [[], [5, 5, 16, 120]],
  [[120, 84], []],
  [
    [3, 1, 5],
    [1, 4, 1],
  ],
  [
    [2, 3, 4, 5],
    [3, 1, 5],
  ],
  [[7, 300], [300]],
  [[1], [1]],
];

// [kernel, op, lowest denominator value, whether tfjs has a broadcasting gradient]
const binary: Array<[string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, number | undefined, boolean]> = [
  ['Add', tf.add, undefined, true],
  ['Sub', tf.sub, undefined, true],
  ['Multiply', tf.mul, undefined, true],
  ['RealDiv', tf.div, 0.5, true],
  ['Maximum', tf.maximum, undefined, false],
  ['Minimum', tf.minimum, undefined, false],
  ['SquaredDifference', tf.squaredDifference, undefined, false],
];

const broadcastShape = (a: number[], b: number[]) => tf.broadcast_util.assertAndGetBroadcastShape(a, b);

describeOnednn('binary elementwise kernels', () => {
  for (const [kernel, op, lo, broadcastGradient] of binary) {
    for (const [a, b] of broadcasts) {
      const sameShape = JSON.stringify(a) === JSON.stringify(b);
      // tfjs's Maximum/Minimum/SquaredDifference gradients do not reduce broadcast axes.
      const withGradient = broadcastGradient || sameShape;
      const checks = withGradient ? 'forward and gradients' : 'forward';
      it(`${kernel} ${JSON.stringify(a)} ${JSON.stringify(b)}: ${checks}`, async () => {
        // Division gets a denominator away from 0.
        const specs = [{ shape: a }, { shape: b, lo: lo ?? -1, hi: lo ? 2 : 1 }];
        const out = broadcastShape(a, b);
        const native = sizeOf(out) >= MIN_NATIVE_SIZE ? [kernel] : [];
        if (withGradient) await expectSameGradients(specs, op, { native });
        else await expectSameOnBoth(specs, op, { native });
      });
    }
  }

  it('Pow on positive bases', async () => {
    await expectSameOnBoth(
      [
        { shape: [40, 30], lo: 0.1, hi: 3 },
        { shape: [30], lo: -2, hi: 2 },
      ],
      tf.pow,
      {
        native: ['Pow'],
      },
    );
  });

  it('AddN', async () => {
    await expectSameOnBoth(
      [{ shape: [8, 100] }, { shape: [8, 100] }, { shape: [8, 100] }],
      (a, b, c) => tf.addN([a, b, c]),
      {
        native: ['AddN'],
      },
    );
  });

  it('tiny tensors use the cpu kernel', async () => {
    await expectSameOnBoth([{ shape: [5] }, { shape: [5] }], tf.mul);
  });

  it('int32 inputs fall back to the cpu kernel', async () => {
    await expectSameOnBoth([{ shape: [10] }], (a) => tf.add(tf.cast(tf.mul(a, 100), 'int32'), tf.scalar(3, 'int32')));
  });
});

const unary: Array<[string, (x: tf.Tensor) => tf.Tensor, number, number]> = [
  ['Relu', tf.relu, -1, 1],
  ['Relu6', tf.relu6, -3, 9],
  ['Exp', tf.exp, -5, 5],
  ['Log', tf.log, 0.01, 10],
  ['Log1p', tf.log1p, -0.9, 10],
  ['Neg', tf.neg, -1, 1],
  ['Sqrt', tf.sqrt, 0.01, 10],
  ['Rsqrt', tf.rsqrt, 0.01, 10],
  ['Square', tf.square, -3, 3],
  ['Abs', tf.abs, -1, 1],
  ['Sigmoid', tf.sigmoid, -6, 6],
  ['Tanh', tf.tanh, -4, 4],
  ['Reciprocal', tf.reciprocal, 0.1, 4],
  ['Elu', tf.elu, -3, 3],
  ['LeakyRelu', (x) => tf.leakyRelu(x, 0.15), -1, 1],
  ['Floor', tf.floor, -5, 5],
  ['Ceil', tf.ceil, -5, 5],
];

describeOnednn('unary elementwise kernels', () => {
  for (const [kernel, op, lo, hi] of unary) {
    it(`${kernel}: forward and gradient`, async () => {
      await expectSameGradients([{ shape: [64, 28, 28, 6], lo, hi }], op, { native: [kernel] });
    });
  }

  it('Step (alpha 0 and 0.3) and its NaN passthrough', async () => {
    await expectSameOnBoth(
      [{ shape: [1000] }],
      (x) => {
        const withNaN = tf.concat([x, tf.tensor1d([NaN, 0, -0])]);
        return [tf.step(withNaN), tf.step(withNaN, 0.3), tf.relu(withNaN)];
      },
      { native: ['Step', 'Relu'] },
    );
  });
});

describeOnednn('the Relu gradient', () => {
  it('is one native kernel (no Step) with exactly the cpu values, NaN and zeros included', async () => {
    await expectSameOnBoth(
      [{ shape: [64, 28, 28, 6] }],
      (x) => {
        const withNaN = tf.concat([tf.reshape(x, [-1]), tf.tensor1d([NaN, 0, -0, 1])]);
        const dy = tf.concat([tf.reshape(x, [-1]), tf.tensor1d([2, 3, Infinity, NaN])]);
        return [tf.grad((v: tf.Tensor) => tf.mul(tf.relu(v), dy))(withNaN)];
      },
      { rtol: 0, atol: 0 },
    );
    expect(kernelCounts.get('Step')).toBeUndefined(); // counts cover the onednn run only
  });
});

describeOnednn('Tile', () => {
  const cases: Array<[number[], number[]]> = [
    [
      [1, 1, 1, 6],
      [8, 14, 14, 1],
    ], // what the FusedBatchNorm gradient does
    [
      [3, 4],
      [2, 5],
    ],
    [
      [2, 1, 3],
      [1, 7, 2],
    ],
    [[5], [20]],
    [
      [4, 5, 6],
      [1, 1, 1],
    ],
  ];
  for (const [shape, reps] of cases) {
    it(`${JSON.stringify(shape)} x ${JSON.stringify(reps)}: forward and gradient`, async () => {
      await expectSameGradients([{ shape }], (x) => tf.tile(x, reps), { native: ['Tile'] });
    });
  }
});
