// The three study models on the onednn backend against cpu: one training step's loss
// and gradients, a few momentum steps, and real learning on MNIST.
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { getModel, setDropoutStep } from '@mnist/models';
import { expect, it } from 'vitest';
import { ONEDNN_BACKEND_NAME } from './index.js';
import { describeOnednn, expectClose, randomArray } from '../test/compare.js';
import { batchOf, loadMnist, type MnistSplit } from '../test/mnist.js';

const variablesOf = (model: LayersModel) =>
  model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);

function loss(model: LayersModel, x: tf.Tensor, y: tf.Tensor): tf.Scalar {
  return tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar;
}

/** Loss and gradients of one step, then weights after `steps` momentum updates, on a backend. */
async function runSteps(backend: string, name: string, steps: number, batch: number) {
  await tf.setBackend(backend);
  const model = getModel(name).build(7);
  const optimizer: tf.Optimizer = tf.train.momentum(0.01, 0.9);
  const images = randomArray(batch * 784, 11, -0.4, 2.8);
  const labels = Int32Array.from({ length: batch }, (_, i) => (i * 7) % 10);
  const x = tf.tensor4d(images, [batch, 28, 28, 1]);
  const y = tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), 10), 'float32');
  let first: { loss: Float32Array; grads: Float32Array[] } | null = null;
  for (let s = 0; s < steps; s++) {
    setDropoutStep(model, s);
    const { value, grads } = tf.variableGrads(() => loss(model, x, y), variablesOf(model));
    if (!first) {
      first = {
        loss: value.dataSync().slice() as Float32Array,
        grads: variablesOf(model).map((v) => grads[v.name]!.dataSync().slice() as Float32Array),
      };
    }
    optimizer.applyGradients(grads);
    tf.dispose([value, ...Object.values(grads)]);
  }
  const weights = variablesOf(model).map((v) => v.dataSync().slice() as Float32Array);
  const stats = model.getWeights().map((w) => w.dataSync().slice() as Float32Array); // incl. BN moving stats
  tf.dispose([x, y]);
  optimizer.dispose();
  model.dispose();
  return { ...first!, weights, stats };
}

describeOnednn('the study models on onednn match cpu', () => {
  for (const name of ['lenet5', 'mlp', 'lenet5-reg']) {
    it(`${name}: loss, gradients and weights after 3 momentum steps`, async () => {
      const cpu = await runSteps('cpu', name, 3, 16);
      const ours = await runSteps(ONEDNN_BACKEND_NAME, name, 3, 16);
      expectClose(ours.loss, cpu.loss, 1e-5, 0, `${name} loss`);
      // Gradients that are zero in exact arithmetic (a conv bias right before batch norm)
      // are rounding noise on both backends: compare against the largest gradient overall.
      const gradScale = Math.max(...cpu.grads.map((g) => Math.max(...Array.from(g, Math.abs))));
      cpu.grads.forEach((g, i) => expectClose(ours.grads[i]!, g, 1e-4, 1e-5, `${name} grad ${i}`, 1e-6 * gradScale));
      cpu.weights.forEach((w, i) => expectClose(ours.weights[i]!, w, 1e-4, 1e-5, `${name} weight ${i}`));
      cpu.stats.forEach((w, i) => expectClose(ours.stats[i]!, w, 1e-4, 1e-5, `${name} state ${i}`));
    }, 120_000);
  }
});

/** Trains `epochs` passes over `train` at batch 64 and returns test accuracy. */
async function trainAndEvaluate(backend: string, name: string, train: MnistSplit, test: MnistSplit, epochs: number) {
  await tf.setBackend(backend);
  const model = getModel(name).build(3);
  const optimizer: tf.Optimizer = tf.train.momentum(0.01, 0.9);
  const steps = Math.floor(train.count / 64);
  for (let e = 0; e < epochs; e++) {
    for (let s = 0; s < steps; s++) {
      const { x, y } = batchOf(train, s * 64, 64);
      setDropoutStep(model, e * steps + s);
      const { value, grads } = tf.variableGrads(() => loss(model, x, y), variablesOf(model));
      optimizer.applyGradients(grads);
      tf.dispose([x, y, value, ...Object.values(grads)]);
    }
  }
  const { x, y } = batchOf(test, 0, test.count);
  const correct = tf.tidy(() =>
    tf.sum(tf.cast(tf.equal(tf.argMax(model.apply(x, { training: false }) as tf.Tensor, 1), tf.argMax(y, 1)), 'int32')),
  );
  const accuracy = correct.dataSync()[0]! / test.count;
  tf.dispose([x, y, correct]);
  optimizer.dispose();
  model.dispose();
  return accuracy;
}

describeOnednn('learning real MNIST', () => {
  const load = (n: number) => loadMnist(n, 1000);

  // Chance is 10%; the PyTorch recipe reaches ~96% after 400 steps.
  it('lenet5 learns on onednn (8192 images, 2 epochs: 256 steps)', async () => {
    const { train, test } = await load(8192);
    const accuracy = await trainAndEvaluate(ONEDNN_BACKEND_NAME, 'lenet5', train, test, 2);
    expect(accuracy).toBeGreaterThan(0.9);
  }, 180_000);

  it('lenet5-reg learns on onednn (8192 images, 2 epochs)', async () => {
    const { train, test } = await load(8192);
    const accuracy = await trainAndEvaluate(ONEDNN_BACKEND_NAME, 'lenet5-reg', train, test, 2);
    expect(accuracy).toBeGreaterThan(0.9);
  }, 180_000);

  it('mlp learns as well on onednn as on cpu (same seed, same batches, 256 steps)', async () => {
    const { train, test } = await load(8192);
    const ours = await trainAndEvaluate(ONEDNN_BACKEND_NAME, 'mlp', train, test, 2);
    const cpu = await trainAndEvaluate('cpu', 'mlp', train, test, 2);
    expect(ours).toBeGreaterThan(0.8);
    // The same arithmetic up to rounding: both runs end within a point of each other.
    expect(Math.abs(ours - cpu)).toBeLessThan(0.01);
  }, 300_000);
});
