import * as tf from '@tensorflow/tfjs-core';
import { it } from 'vitest';
import { describeOnednn, expectSameGradients, expectSameOnBoth } from '../../test/compare.js';

interface PoolCase {
  name: string;
  x: number[];
  size: number | [number, number];
  strides: number | [number, number];
  pad: 'same' | 'valid' | number;
}

const cases: PoolCase[] = [
  { name: 'LeNet-5 S2: 2x2/2 on [64,28,28,6]', x: [64, 28, 28, 6], size: 2, strides: 2, pad: 'valid' },
  { name: 'LeNet-5 S4: 2x2/2 on [8,10,10,16]', x: [8, 10, 10, 16], size: 2, strides: 2, pad: 'valid' },
  { name: '2x2/2 with few channels (scalar path)', x: [2, 6, 8, 3], size: 2, strides: 2, pad: 'valid' },
  { name: '2x2/2 on odd sizes (last row/col uncovered)', x: [2, 7, 9, 5], size: 2, strides: 2, pad: 'valid' },
  { name: '3x3/2 same (padding)', x: [2, 9, 10, 4], size: 3, strides: 2, pad: 'same' },
  { name: '3x3/1 valid (overlapping windows)', x: [2, 7, 6, 5], size: 3, strides: 1, pad: 'valid' },
  {
    name: 'non-square 2x3 window, strides [1,2], batch 1',
    x: [1, 8, 9, 7],
    size: [2, 3],
    strides: [1, 2],
    pad: 'same',
  },
  { name: '2x2/2 same on an odd size', x: [3, 5, 5, 2], size: 2, strides: 2, pad: 'same' },
];

describeOnednn('MaxPool / MaxPoolGrad / AvgPool', () => {
  for (const c of cases) {
    it(`max ${c.name}: forward and gradient`, async () => {
      await expectSameGradients([{ shape: c.x }], (x) => tf.maxPool(x as tf.Tensor4D, c.size, c.strides, c.pad), {
        label: c.name,
        native: ['MaxPool', 'MaxPoolGrad'],
      });
    });
    it(`avg ${c.name}: forward`, async () => {
      await expectSameOnBoth([{ shape: c.x }], (x) => tf.avgPool(x as tf.Tensor4D, c.size, c.strides, c.pad), {
        native: ['AvgPool'],
      });
    });
  }

  it('ties after ReLU: the first maximum of a window gets the gradient', async () => {
    // Many zeros after relu: windows full of equal values.
    await expectSameGradients(
      [{ shape: [4, 12, 12, 6], lo: -1, hi: 0.3 }],
      (x) => tf.maxPool(tf.relu(x) as tf.Tensor4D, 2, 2, 'valid'),
      { native: ['MaxPool', 'MaxPoolGrad', 'Relu'] },
    );
  });
});
