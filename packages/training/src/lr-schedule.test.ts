import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '@mnist/backends';
import { createInProcessGroup, LocalCollective } from './index.js';
import { learningRateSchedule } from './lr-schedule.js';
import { spec, trainGroup } from './test-helpers.js';

let backend: string;
beforeAll(async () => {
  backend = (await selectBackend('auto')).name;
}, 60_000);

describe('weak scaling (spec.scaling)', () => {
  it('linear: the rate ramps from the spec rate to N times it over the warmup, then stays', () => {
    const s = spec({
      model: 'mlp',
      optimizer: { type: 'sgd', lr: 0.01 },
      scaling: { batchPerReplica: 64, warmupEpochs: 2 },
    });
    const lrAt = learningRateSchedule(s, 4, 100)!;
    expect(lrAt(0)).toBeCloseTo(0.01, 12);
    expect(lrAt(100)).toBeCloseTo(0.025, 12); // halfway: 1 + 3/2
    expect(lrAt(200)).toBeCloseTo(0.04, 12);
    expect(lrAt(5_000)).toBeCloseTo(0.04, 12);
    expect(learningRateSchedule({ ...s, scaling: { ...s.scaling!, lr: 'none' } }, 4, 100)).toBeUndefined();
    expect(learningRateSchedule(s, 1, 100)).toBeUndefined();
    expect(
      learningRateSchedule({ ...s, sync: { every: 8, outer: 'average', outerLr: 1, outerMomentum: 0 } }, 4, 100),
    ).toBeUndefined();
  });

  it('2 replicas at 32 each, rate scaled, no warmup, follow one trainer at batch 64 and twice the rate', async () => {
    const base = {
      model: 'mlp' as const,
      epochs: 2,
      seed: 2,
      optimizer: { type: 'sgd' as const, lr: 0.02, momentum: 0.9 },
    };
    const [weak] = await trainGroup(
      backend,
      createInProcessGroup(2),
      { ...base, scaling: { batchPerReplica: 32, warmupEpochs: 0 } },
      2048,
      300,
    );
    const [one] = await trainGroup(
      backend,
      [new LocalCollective()],
      { ...base, batchSize: 64, optimizer: { ...base.optimizer, lr: 0.04 } },
      2048,
      300,
    );
    const [unscaled] = await trainGroup(backend, [new LocalCollective()], { ...base, batchSize: 64 }, 2048, 300);
    const dist = (a: number[], b: number[]) => Math.max(...a.map((w, i) => Math.abs(w - b[i]!)));
    // 64 steps of the global batch 64: same trajectory up to float rounding, and the rate matters.
    expect(weak!.records.at(-1)!.testAcc).toBeGreaterThan(0.5);
    expect(dist(weak!.weights, one!.weights)).toBeLessThan(1e-4);
    expect(dist(weak!.weights, unscaled!.weights)).toBeGreaterThan(100 * dist(weak!.weights, one!.weights));
  }, 120_000);
});
