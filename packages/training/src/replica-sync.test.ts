import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getModel } from '@mnist/models';
import { artifactKeys, parseMetricsJsonl, type JobSpecInput } from '@mnist/protocol';
import { FsStore, getText } from '@mnist/storage';
import {
  createInProcessGroup,
  createOptimizer,
  evaluate,
  evaluateSharded,
  LocalCollective,
  runEpochs,
  runJob,
  TrainingCancelledError,
  type Collective,
} from './index.js';
import { selectBackend } from '@mnist/backends';
import { mnistSubset, spec, trainGroup } from './test-helpers.js';

let backend: string;
beforeAll(async () => {
  backend = (await selectBackend('auto')).name;
}, 60_000);

describe('local SGD (sync: { every: H })', () => {
  it.each(['nesterov', 'average'] as const)(
    '%s: 2 replicas hold identical weights after every epoch, and learn',
    async (outer) => {
      const ranks = await trainGroup(
        backend,
        createInProcessGroup(2),
        { model: 'mlp', epochs: 2, batchSize: 16, sync: { every: 8, outer } },
        6000,
        1000,
      );
      // Exact: every rank does the same arithmetic on the same sum.
      expect(ranks[1]!.weights).toEqual(ranks[0]!.weights);
      const last = ranks[0]!.records.at(-1)!;
      expect(last.testAcc).toBeGreaterThan(0.8); // chance is 0.1; one-trainer step sync reaches ~0.87 here
      expect(last.trainLoss).toBeLessThan(ranks[0]!.records[0]!.trainLoss);
    },
    120_000,
  );

  it('averages batch-norm statistics too (lenet5-reg replicas stay identical)', async () => {
    const ranks = await trainGroup(
      backend,
      createInProcessGroup(2),
      { model: 'lenet5-reg', epochs: 1, sync: { every: 4 } },
      640,
      200,
    );
    expect(ranks[1]!.weights).toEqual(ranks[0]!.weights);
  }, 120_000);

  it('with every: 1 and outer average, two replicas take the mean of two half-batch steps', async () => {
    // SGD without momentum: averaging two replicas' one-step updates from the same point is one
    // step on the mean gradient, i.e. exactly what step sync does, up to float rounding.
    const optimizer = { type: 'sgd', lr: 0.05, momentum: 0 } as const;
    const [local] = await trainGroup(
      backend,
      createInProcessGroup(2),
      { model: 'mlp', epochs: 1, optimizer, sync: { every: 1, outer: 'average' } },
      640,
      100,
    );
    const [exact] = await trainGroup(
      backend,
      [new LocalCollective()],
      { model: 'mlp', epochs: 1, optimizer },
      640,
      100,
    );
    const maxDiff = Math.max(...local!.weights.map((w, i) => Math.abs(w - exact!.weights[i]!)));
    expect(maxDiff).toBeLessThan(1e-5);
    // The bound says something only if training moved the weights far beyond it.
    const init = getModel('mlp').build(spec({ model: 'mlp' }).seed);
    const initial = init.getWeights().flatMap((w) => Array.from(w.dataSync()));
    init.dispose();
    const moved = Math.max(...exact!.weights.map((w, i) => Math.abs(w - initial[i]!)));
    expect(moved).toBeGreaterThan(1e-3);
  }, 120_000);

  it('resumes exactly: the outer momentum is checkpointed with the optimizer', async () => {
    const s = spec({ model: 'mlp', epochs: 3, trainLimit: 512, testLimit: 200, sync: { every: 4, outer: 'nesterov' } });
    const data = await mnistSubset(512, 200);
    const newStore = () => new FsStore(mkdtempSync(join(tmpdir(), 'local-sgd-')));
    const learned = async (store: FsStore) =>
      parseMetricsJsonl((await getText(store, artifactKeys.metrics)) ?? '').map(
        ({ epoch, trainLoss, trainAcc, testLoss, testAcc }) => ({ epoch, trainLoss, trainAcc, testLoss, testAcc }),
      );
    const whole = newStore();
    (await runJob({ spec: s, store: whole, data, backend })).model.dispose();
    const cut = newStore();
    const abort = new AbortController();
    await expect(
      runJob({
        spec: s,
        store: cut,
        data,
        backend,
        signal: abort.signal,
        onEpoch: (r) => void (r.epoch === 2 && abort.abort()),
      }),
    ).rejects.toBeInstanceOf(TrainingCancelledError);
    (await runJob({ spec: s, store: cut, data, backend, resume: true })).model.dispose();
    expect(await learned(cut)).toEqual(await learned(whole));
  }, 120_000);
});

describe('sharded evaluation', () => {
  it('three ranks together give the accuracy of one pass and its loss to float precision', async () => {
    const data = await mnistSubset(100, 1001);
    const model = getModel('mlp').build(3);
    const whole = evaluate(model, data.test, 128);
    const shards = await Promise.all(createInProcessGroup(3).map((c) => evaluateSharded(model, data.test, c, 128)));
    for (const r of shards) {
      expect(r.acc).toBe(whole.acc);
      expect(r.loss).toBeCloseTo(whole.loss, 5);
    }
    model.dispose();
  }, 60_000);
});
