import * as tf from '@tensorflow/tfjs-core';
import { it } from 'vitest';
import { describeOnednn, expectSameGradients, expectSameOnBoth } from '../../test/compare.js';

type Pad = 'same' | 'valid' | number;
interface ConvCase {
  name: string;
  x: number[];
  w: number[];
  strides: number | [number, number];
  pad: Pad;
  dilations?: number | [number, number];
}

const cases: ConvCase[] = [
  // The models' convolutions (LeNet-5 C1, C3, C5) at a small and the training batch.
  { name: 'C1 5x5 same, 1->6', x: [4, 28, 28, 1], w: [5, 5, 1, 6], strides: 1, pad: 'same' },
  { name: 'C1 at batch 64', x: [64, 28, 28, 1], w: [5, 5, 1, 6], strides: 1, pad: 'same' },
  { name: 'C3 5x5 valid, 6->16', x: [3, 14, 14, 6], w: [5, 5, 6, 16], strides: 1, pad: 'valid' },
  { name: 'C5 5x5 valid, 16->120 (1x1 output)', x: [5, 5, 5, 16], w: [5, 5, 16, 120], strides: 1, pad: 'valid' },
  // Others: stride 2, even kernels with 'same', batch 1, non-square, explicit padding.
  { name: 'stride 2 same, 3x3', x: [2, 9, 9, 3], w: [3, 3, 3, 4], strides: 2, pad: 'same' },
  { name: 'stride 2 same, even 4x4 kernel, non-square', x: [2, 10, 7, 3], w: [4, 4, 3, 5], strides: 2, pad: 'same' },
  { name: 'even 2x2 kernel same stride 1', x: [1, 6, 6, 2], w: [2, 2, 2, 3], strides: 1, pad: 'same' },
  { name: 'valid stride 2 with a remainder', x: [2, 11, 8, 2], w: [3, 2, 2, 4], strides: 2, pad: 'valid' },
  { name: 'strides [2,1], batch 1', x: [1, 12, 9, 4], w: [3, 5, 4, 2], strides: [2, 1], pad: 'same' },
  { name: 'numeric padding 1', x: [2, 7, 8, 3], w: [3, 3, 3, 2], strides: 1, pad: 1 },
  { name: '1x1 kernel', x: [3, 5, 4, 7], w: [1, 1, 7, 9], strides: 1, pad: 'valid' },
  // One input channel at stride 1 has its own backward-data path.
  {
    name: 'one input channel, valid, non-square 4x3 kernel',
    x: [3, 9, 11, 1],
    w: [4, 3, 1, 5],
    strides: 1,
    pad: 'valid',
  },
  { name: 'one input channel, same, even 2x4 kernel', x: [2, 8, 7, 1], w: [2, 4, 1, 3], strides: 1, pad: 'same' },
  { name: 'one input channel, explicit padding 3', x: [2, 6, 6, 1], w: [3, 3, 1, 2], strides: 1, pad: 3 },
  { name: 'one input channel, stride 2', x: [2, 9, 8, 1], w: [3, 3, 1, 4], strides: 2, pad: 'same' },
];

describeOnednn('Conv2D / Conv2DBackpropInput / Conv2DBackpropFilter', () => {
  for (const c of cases) {
    it(`${c.name}: forward and gradients`, async () => {
      await expectSameGradients(
        [{ shape: c.x }, { shape: c.w }],
        (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.strides, c.pad),
        { label: c.name, native: ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'] },
      );
    });
  }

  it('dilation 2 (forward; tfjs has no gradient for dilated conv)', async () => {
    await expectSameOnBoth(
      [{ shape: [2, 11, 10, 3] }, { shape: [3, 3, 3, 4] }],
      (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same', 'NHWC', 2),
      { native: ['Conv2D'] },
    );
  });

  it('a 3-d input (no batch axis)', async () => {
    await expectSameGradients(
      [{ shape: [9, 9, 2] }, { shape: [3, 3, 2, 3] }],
      (x, w) => tf.conv2d(x as tf.Tensor3D, w as tf.Tensor4D, 1, 'same'),
      { native: ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'] },
    );
  });
});

describeOnednn('FusedConv2D', () => {
  const activations = ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu'] as const;
  for (const activation of activations) {
    it(`bias + ${activation}: forward (inference path)`, async () => {
      await expectSameOnBoth(
        [{ shape: [3, 12, 12, 3] }, { shape: [5, 5, 3, 6] }, { shape: [6] }],
        (x, w, b) =>
          tf.fused.conv2d({
            x: x as tf.Tensor4D,
            filter: w as tf.Tensor4D,
            bias: b,
            strides: 1,
            pad: 'same',
            activation,
            leakyreluAlpha: 0.1,
          }),
        { label: activation, native: ['FusedConv2D'] },
      );
    });
  }

  it('LeNet-5 C3 shape with bias + relu, and a scalar bias', async () => {
    await expectSameOnBoth(
      [{ shape: [8, 14, 14, 6] }, { shape: [5, 5, 6, 16] }, { shape: [16] }, { shape: [] }],
      (x, w, b, s) => [
        tf.fused.conv2d({
          x: x as tf.Tensor4D,
          filter: w as tf.Tensor4D,
          bias: b,
          pad: 'valid',
          strides: 1,
          activation: 'relu',
        }),
        tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, bias: s, pad: 'valid', strides: 1 }),
      ],
      { native: ['FusedConv2D'] },
    );
  });

  it('matrix-product convolutions (C5 shape, 1x1) with bias + relu', async () => {
    await expectSameOnBoth(
      [
        { shape: [16, 5, 5, 16] },
        { shape: [5, 5, 16, 120] },
        { shape: [120] },
        { shape: [2, 6, 7, 8] },
        { shape: [1, 1, 8, 5] },
        { shape: [5] },
      ],
      (x, w, b, x1, w1, b1) => [
        tf.fused.conv2d({
          x: x as tf.Tensor4D,
          filter: w as tf.Tensor4D,
          bias: b,
          pad: 'valid',
          strides: 1,
          activation: 'relu',
        }),
        tf.fused.conv2d({
          x: x1 as tf.Tensor4D,
          filter: w1 as tf.Tensor4D,
          bias: b1,
          pad: 'same',
          strides: 1,
          activation: 'relu6',
        }),
      ],
      { native: ['FusedConv2D'] },
    );
  });

  it('gradients through fused bias (linear stays fused under tf.grad)', async () => {
    await expectSameGradients(
      [{ shape: [4, 10, 10, 3] }, { shape: [3, 3, 3, 5] }, { shape: [5] }],
      (x, w, b) => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, bias: b, strides: 2, pad: 'same' }),
      { native: ['FusedConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'Sum'] },
    );
  });

  it('gradients with relu (unfused by tfjs under tf.grad)', async () => {
    await expectSameGradients(
      [{ shape: [4, 10, 10, 3] }, { shape: [3, 3, 3, 5] }, { shape: [5] }],
      (x, w, b) =>
        tf.fused.conv2d({
          x: x as tf.Tensor4D,
          filter: w as tf.Tensor4D,
          bias: b,
          strides: 1,
          pad: 'valid',
          activation: 'relu',
        }),
      // No Step: the Relu gradient is one fused kernel on onednn (gradients.ts).
      { native: ['Conv2D', 'Add', 'Relu', 'Multiply', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'Sum'] },
    );
  });
});
