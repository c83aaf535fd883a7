// The native loops and convolutions have a one-thread and an all-threads path, picked at
// run time; force each in turn and check both against cpu.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, expect, it } from 'vitest';
import { native } from './native.js';
import { describeOnednn, expectSameGradients, expectSameOnBoth } from '../test/compare.js';

const addon = () => {
  const loaded = native();
  if (!loaded.ok) throw new Error(loaded.reason);
  return loaded.addon;
};

describeOnednn('one thread and all threads give the same results', () => {
  afterAll(() => addon().forceThreads(0));

  for (const [mode, label] of [[1, 'one thread'], [2, 'all threads']] as const) {
    it(`${label}: convolutions (incl. the single-channel backward path), pooling`, async () => {
      addon().forceThreads(mode);
      await expectSameGradients(
        [{ shape: [16, 28, 28, 1] }, { shape: [5, 5, 1, 6] }],
        (x, w) => tf.maxPool(tf.relu(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same')) as tf.Tensor4D, 2, 2, 'valid'),
        { native: ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'MaxPool', 'MaxPoolGrad', 'Relu'] },
      );
      await expectSameGradients(
        [{ shape: [16, 14, 14, 6] }, { shape: [5, 5, 6, 16] }],
        (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'valid'),
        { native: ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'] },
      );
    });

    it(`${label}: large elementwise ops, broadcasts and reductions`, async () => {
      addon().forceThreads(mode);
      await expectSameGradients(
        [{ shape: [64, 28, 28, 6] }, { shape: [6] }, { shape: [64, 28, 28, 6] }],
        (x, b, z) => tf.sum(tf.mul(tf.relu(tf.add(x, b)), tf.exp(tf.mul(z, 0.1))), [0, 1, 2]),
        { native: ['Add', 'Relu', 'Multiply', 'Exp', 'Sum'] },
      );
      await expectSameOnBoth(
        [{ shape: [64, 28, 28, 6] }, { shape: [64, 28, 28, 6] }, { shape: [64, 28, 28, 6] }],
        (a, b, c) => [tf.addN([a, b, c]), tf.step(a), tf.sub(a, tf.mean(a, [0, 1, 2], true)), tf.max(b, [0, 1, 2])],
        { native: ['AddN', 'Step', 'Sub', 'Mean', 'Max'] },
      );
    });
  }
});

describeOnednn('reproducibility', () => {
  it('by default the same seeded training steps give bit-identical weights, run after run', async () => {
    const { getModel } = await import('@mnist/models');
    addon().forceThreads(0);
    await tf.setBackend('onednn');
    const train = () => {
      const model = getModel('lenet5-reg').build(3);
      const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const optimizer = tf.train.momentum(0.01, 0.9);
      const x = tf.randomNormal([64, 28, 28, 1], 0, 1, 'float32', 11);
      const y = tf.oneHot(tf.tensor1d(Array.from({ length: 64 }, (_, i) => i % 10), 'int32'), 10);
      // Enough steps for a timing-driven thread choice to flip at least once, had there been one.
      for (let step = 0; step < 40; step++) {
        const { grads } = tf.variableGrads(
          () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
          vars,
        );
        optimizer.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
        tf.dispose(grads);
      }
      const weights = model.getWeights().map((w) => Array.from(w.dataSync()));
      model.dispose();
      return weights.flat();
    };
    expect(train()).toEqual(train());
  }, 60_000);
});
