import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { BatchNorm } from './batch-norm.js';

const relu = () => tfl.layers.activation({ activation: 'relu' });
const pool = () => tfl.layers.maxPooling2d({ poolSize: 2, strides: 2 });

describe('lenet5-reg applies ReLU after the max-pool', () => {
  it("which gives the seed order's outputs and gradients to the bit (batch norm, ReLU, pool)", () => {
    const stack = (layers: tfl.layers.Layer[]) =>
      tfl.sequential({
        layers: [tfl.layers.inputLayer({ inputShape: [8, 8, 3] }), new BatchNorm({ axis: -1 }), ...layers],
      });
    const seedOrder = stack([relu(), pool()]);
    const ours = stack([pool(), relu()]);
    ours.setWeights(seedOrder.getWeights());
    // Ties and zeros included: rounded values make equal maxima and exact zeros common.
    const x = tf.round(tf.mul(tf.randomNormal([4, 8, 8, 3], 0, 1, 'float32', 9), 2));
    const w = tf.randomNormal([4, 4, 4, 3], 0, 1, 'float32', 10);
    const run = (m: tfl.Sequential) => {
      const vars = m.trainableWeights.map((v) => v.read() as tf.Variable);
      const f = (input: tf.Tensor) => tf.sum(tf.mul(m.apply(input, { training: true }) as tf.Tensor, w)) as tf.Scalar;
      const { value, grads } = tf.variableGrads(() => f(x), vars);
      const dx = tf.grad(f)(x);
      return [value, dx, ...vars.map((v) => grads[v.name]!), m.apply(x) as tf.Tensor].map((t) =>
        Array.from(t.dataSync()),
      );
    };
    expect(run(ours)).toEqual(run(seedOrder));
  });
});
