import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { FusedConv2D } from './conv2d.js';

const values = (ts: tf.Tensor[]) => ts.map((t) => Array.from(t.dataSync()));

function model(conv: tfl.layers.Layer): tfl.Sequential {
  return tfl.sequential({ layers: [tfl.layers.inputLayer({ inputShape: [9, 9, 3] }), conv] });
}

describe('FusedConv2D', () => {
  for (const [activation, padding] of [
    ['relu', 'same'],
    ['linear', 'valid'],
  ] as const) {
    it(`${activation}, ${padding}: the output and the gradients of tfjs-layers' Conv2D, x's included`, () => {
      const args = {
        filters: 4,
        kernelSize: 3,
        padding,
        activation,
        kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }),
        biasInitializer: tfl.initializers.randomUniform({ seed: 4 }),
      };
      const ours = model(new FusedConv2D({ name: `ours_${activation}`, ...args }));
      const theirs = model(tfl.layers.conv2d({ name: `theirs_${activation}`, ...args }));
      theirs.setWeights(ours.getWeights());
      const x = tf.randomNormal([2, 9, 9, 3], 0, 1, 'float32', 5);
      const step = (m: tfl.Sequential) => {
        const f = (input: tf.Tensor) => {
          const y = m.apply(input, { training: true }) as tf.Tensor;
          return tf.sum(tf.mul(y, tf.reshape(tf.linspace(-1, 1, y.size), y.shape)));
        };
        const vars = m.trainableWeights.map((v) => v.read() as tf.Variable);
        const { value, grads } = tf.variableGrads(() => f(x) as tf.Scalar, vars);
        const dx = tf.grad((input: tf.Tensor) => f(input))(x);
        return values([value, ...vars.map((v) => grads[v.name]!), dx]);
      };
      const [a, b] = [step(ours), step(theirs)];
      a.forEach((arr, i) => arr.forEach((v, j) => expect(v).toBeCloseTo(b[i]![j]!, 4)));
    });
  }

  it('does not compute the gradient of an input nothing asks for (the first layer of a model)', async () => {
    const m = model(new FusedConv2D({ filters: 4, kernelSize: 3, activation: 'linear' }));
    const x = tf.randomNormal([2, 9, 9, 3]);
    const vars = m.trainableWeights.map((v) => v.read() as tf.Variable);
    const { kernelNames } = await tf.profile(
      () => tf.variableGrads(() => tf.sum(m.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, vars).value,
    );
    expect(kernelNames).toContain('Conv2DBackpropFilter');
    expect(kernelNames).not.toContain('Conv2DBackpropInput');
  });
});
