// The native loops and convolutions have a one-thread and an all-threads path, picked at
// run time; force each in turn and check both against cpu.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, expect, it } from 'vitest';
import { native, packParams, ReduceOp } from './native.js';
import { describeOnednn, expectSameGradients, expectSameOnBoth, randomArray } from '../test/compare.js';

const addon = () => {
  const loaded = native();
  if (!loaded.ok) throw new Error(loaded.reason);
  return loaded.addon;
};

describeOnednn('one thread and all threads give the same results', () => {
  afterAll(() => addon().forceThreads(0));

  for (const [mode, label] of [
    [1, 'one thread'],
    [2, 'all threads'],
  ] as const) {
    it(`${label}: convolutions (incl. the single-channel backward path), pooling`, async () => {
      addon().forceThreads(mode);
      await expectSameGradients(
        [{ shape: [16, 28, 28, 1] }, { shape: [5, 5, 1, 6] }],
        (x, w) =>
          tf.maxPool(tf.relu(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same')) as tf.Tensor4D, 2, 2, 'valid'),
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

describeOnednn('sums across threads: the same bits on one thread and on all', () => {
  afterAll(() => addon().forceThreads(0));

  // Per channel: 1e20 in the first row, -1e20 in a row where the old split between two
  // threads fell, ones elsewhere. Which ones survive depends on where partial sums start,
  // so a split that followed the thread count gave different results on 1 and 2 threads.
  const rows = 32768,
    channels = 6;
  const x = new Float32Array(rows * channels).fill(1);
  for (let c = 0; c < channels; c++) {
    x[c] = 1e20;
    x[16379 * channels + c] = -1e20;
  }
  const onBoth = (f: () => Float32Array) =>
    [1, 2].map((mode) => {
      addon().forceThreads(mode as 1 | 2);
      return Array.from(f());
    });

  it('column sums (Sum/Mean over all but the last axis)', () => {
    const [one, all] = onBoth(() => {
      const y = new Float32Array(channels);
      addon().reduce(ReduceOp.sum, x, 1, rows, channels, y);
      return y;
    });
    expect(all).toEqual(one);
  });

  it('the batch-norm gradient sums', () => {
    const [one, all] = onBoth(() => {
      const sums = new Float32Array(2 * channels);
      addon().batchNormGradSums(x, x, new Float32Array(channels), sums);
      return sums;
    });
    expect(all).toEqual(one);
  });

  it('batch norm in training, forward and backward', () => {
    const dy = randomArray(rows * channels, 5);
    const scale = randomArray(channels, 6),
      offset = randomArray(channels, 7);
    const [one, all] = onBoth(() => {
      const y = new Float32Array(x.length),
        stats = new Float32Array(2 * channels);
      const dx = new Float32Array(x.length),
        dparams = new Float32Array(2 * channels);
      addon().batchNormTrain(dy, scale, offset, y, stats, 1e-5);
      addon().batchNormTrainGrad(x, dy, stats, scale, dx, dparams, 1e-5);
      return Float32Array.of(...stats, ...dparams, ...y.subarray(0, 4096), ...dx.subarray(0, 4096));
    });
    expect(all).toEqual(one);
  });

  it('convolution gradients of the portable kernels (any thread count, by construction)', () => {
    if (addon().kernels() !== 'portable') return;
    const xs = randomArray(64 * 14 * 14 * 6, 1),
      dy = randomArray(64 * 10 * 10 * 16, 2);
    const dims = [64, 14, 14, 6, 10, 10, 16, 5, 5, 1, 1, 1, 1, 0, 0, 0, 0];
    const x1 = randomArray(64 * 28 * 28, 3),
      dy1 = randomArray(64 * 28 * 28 * 6, 4);
    const dims1 = [64, 28, 28, 1, 28, 28, 6, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2];
    const [one, all] = onBoth(() => {
      const dw = new Float32Array(5 * 5 * 6 * 16),
        dw1 = new Float32Array(5 * 5 * 6);
      addon().conv2dBackpropFilter(xs, dy, dw, packParams(dims)); // one shared params array: pack per call
      addon().conv2dBackpropFilter(x1, dy1, dw1, packParams(dims1));
      return Float32Array.of(...dw, ...dw1);
    });
    expect(all).toEqual(one);
  });
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
      const y = tf.oneHot(
        tf.tensor1d(
          Array.from({ length: 64 }, (_, i) => i % 10),
          'int32',
        ),
        10,
      );
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
