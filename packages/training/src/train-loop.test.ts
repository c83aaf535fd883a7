import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { getModel } from '@mnist/models';
import { createInProcessGroup, createOptimizer, evaluate, LocalCollective, runEpochs } from './index.js';
import { selectBackend } from '@mnist/backends';
import { disposeOptimizer } from './optimizer.js';
import { mnistSubset, spec, trainGroup } from './test-helpers.js';

let backend: string;
beforeAll(async () => {
  // The fastest backend here (onednn or wasm): these tests train for real.
  backend = (await selectBackend('auto')).name;
}, 60_000);

describe('training loop', () => {
  // PyTorch with the same recipe (batch 16, SGD lr 0.01 momentum 0.9, 6,000 images, one
  // epoch) reaches 93-94% (LeNet-5) and 86-89% (MLP) over seeds 0-2: the MLP needs
  // more passes over so few images to clear 90% (our two epochs: 89.5%, three: > 90%).
  it.each([
    ['lenet5', 1, 0.9],
    ['mlp', 1, 0.85],
    ['mlp', 3, 0.9],
  ] as const)(
    '%s: %i epoch(s) on 6,000 MNIST images reach >= %s test accuracy on the 10,000 test images',
    async (model, epochs, bar) => {
      const data = await mnistSubset(6000, 10_000);
      const s = spec({ model, epochs, batchSize: 16 });
      const m = getModel(model).build(s.seed);
      const records = await runEpochs({
        spec: s,
        data,
        model: m,
        optimizer: createOptimizer(s.optimizer),
        collective: new LocalCollective(),
        backend,
        startEpoch: 1,
        startStep: 0,
      });
      m.dispose();
      expect(records).toHaveLength(epochs);
      const r = records.at(-1)!;
      expect(r.testAcc).toBeGreaterThanOrEqual(bar);
      expect(r.trainLoss).toBeLessThan(records[0]!.trainLoss + 1e-9);
      expect(r.backend).toBe(backend);
      expect(r.imagesPerSec).toBeGreaterThan(0);
    },
    180_000,
  );

  it('N ranks at global batch B follow one trainer at batch B (in-process all-reduce)', async () => {
    // 200 images at batch 64: the last batch (8) splits unevenly over 3 ranks.
    const input = { model: 'mlp', epochs: 2 } as const;
    const [single] = await trainGroup(backend, [new LocalCollective()], input, 200, 100);
    const group = await trainGroup(backend, createInProcessGroup(3), input, 200, 100);
    const ref = single!.weights;
    for (const rank of group) {
      const maxDiff = Math.max(...rank.weights.map((v, i) => Math.abs(v - ref[i]!)));
      expect(maxDiff).toBeLessThan(1e-5);
    }
    // Rank 0 reports the same epoch metrics as the single trainer; the others report none.
    expect(group[0]!.records.map((r) => r.trainAcc)).toEqual(single!.records.map((r) => r.trainAcc));
    expect(group[0]!.records[1]!.trainLoss).toBeCloseTo(single!.records[1]!.trainLoss, 5);
    expect(group[1]!.records).toEqual([]);
  }, 120_000);

  it('evaluate hands out the predicted classes of the pass it scores', async () => {
    const data = await mnistSubset(3000, 2500);
    const s = spec({ model: 'mlp', epochs: 1, batchSize: 16 });
    const model = getModel('mlp').build(s.seed);
    await runEpochs({
      spec: s,
      data,
      model,
      optimizer: createOptimizer(s.optimizer),
      collective: new LocalCollective(),
      backend,
      startEpoch: 1,
      startStep: 0,
    });
    const predictions = new Int32Array(data.test.count).fill(-1);
    // A batch size that leaves a partial last batch.
    const { acc } = evaluate(model, data.test, 1000, predictions);
    expect(predictions.every((c) => c >= 0 && c < 10)).toBe(true);
    const hits = predictions.reduce((n, c, i) => n + (c === data.test.labels[i] ? 1 : 0), 0);
    expect(hits / data.test.count).toBe(acc);
    expect(acc).toBeGreaterThan(0.5);
    model.dispose();
  }, 60_000);

  it('stops at the next step when cancelled', async () => {
    const data = await mnistSubset(640, 100);
    const s = spec({ model: 'mlp', epochs: 1 });
    const before = tf.memory().numTensors;
    const model = getModel('mlp').build(1);
    const optimizer = createOptimizer(s.optimizer);
    const abort = new AbortController();
    let steps = 0;
    const run = runEpochs({
      spec: s,
      data,
      model,
      optimizer,
      collective: new LocalCollective(),
      backend,
      startEpoch: 1,
      startStep: 0,
      signal: abort.signal,
      onStep: (p) => {
        steps = p.step;
        if (p.step === 3) abort.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ name: 'TrainingCancelledError', epoch: 1, step: 3 });
    expect(steps).toBe(3);
    model.dispose();
    disposeOptimizer(optimizer);
    expect(tf.memory().numTensors).toBe(before); // nothing of the cancelled epoch is left behind
  }, 60_000);
});
