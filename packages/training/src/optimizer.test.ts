import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '@mnist/backends';
import { createOptimizer, FusedMomentumOptimizer, MOMENTUM_UPDATE } from './optimizer.js';

// The fused kernel is onednn's; elsewhere the optimizer is tfjs's own (nothing to compare).
const onednn = await selectBackend('onednn').then(
  (b) => b.name,
  () => null,
);

/**
 * Three momentum steps on fresh variables (a conv filter, a small bias); their values and the
 * optimizer's state after each.
 */
async function threeSteps(optimizer: tf.Optimizer, tag: string): Promise<number[][]> {
  const vars = [
    tf.variable(tf.randomNormal([5, 5, 6, 16], 0, 1, 'float32', 1), true, `${tag}/w`),
    tf.variable(tf.randomNormal([16], 0, 1, 'float32', 2), true, `${tag}/b`),
  ];
  const out: number[][] = [];
  for (let step = 0; step < 3; step++) {
    const grads = vars.map((v, i) => ({
      name: v.name,
      tensor: tf.randomNormal(v.shape, 0, 1, 'float32', 100 + 10 * step + i),
    }));
    optimizer.applyGradients(grads);
    tf.dispose(grads.map((g) => g.tensor));
    out.push(...vars.map((v) => Array.from(v.dataSync())));
    out.push(...(await optimizer.getWeights()).slice(1).map((w) => Array.from(w.tensor.dataSync())));
  }
  tf.dispose(vars);
  optimizer.dispose();
  return out;
}

describe.runIf(onednn != null)('FusedMomentumOptimizer on onednn (one MomentumUpdate kernel per variable)', () => {
  beforeAll(async () => {
    await tf.setBackend(onednn!);
  });

  it('is what createOptimizer gives for SGD with momentum', () => {
    expect(createOptimizer({ type: 'sgd', lr: 0.01, momentum: 0.9 })).toBeInstanceOf(FusedMomentumOptimizer);
  });

  it("takes tfjs's momentum steps to the bit, and keeps its state under the same names", async () => {
    const ours = await threeSteps(new FusedMomentumOptimizer(0.01, 0.9), 'ours');
    const theirs = await threeSteps(tf.train.momentum(0.01, 0.9), 'theirs');
    expect(ours).toEqual(theirs);
    const opt = new FusedMomentumOptimizer(0.01, 0.9);
    const v = tf.variable(tf.ones([100]), true, 'named');
    opt.applyGradients([{ name: 'named', tensor: tf.ones([100]) }]);
    expect((await opt.getWeights()).map((w) => w.name)).toEqual(['iter', 'named/momentum']);
    opt.dispose();
    v.dispose();
  });

  it('runs the fused kernel, not four per variable', async () => {
    const opt = new FusedMomentumOptimizer(0.01, 0.9);
    const v = tf.variable(tf.ones([1000]), true, 'profiled');
    const g = tf.ones([1000]);
    const { kernelNames } = await tf.profile(() => opt.applyGradients([{ name: 'profiled', tensor: g }]));
    expect(kernelNames).toContain(MOMENTUM_UPDATE);
    expect(kernelNames).not.toContain('Multiply');
    tf.dispose([v, g]);
    opt.dispose();
  });
});
