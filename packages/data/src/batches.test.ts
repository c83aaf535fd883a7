import { describe, expect, it } from 'vitest';
import { epochBatches, epochPermutation, stepsPerEpoch } from './index.js';

const CASES = [
  { n: 100, batchSize: 10, worldSize: 1 }, // even everywhere
  { n: 100, batchSize: 10, worldSize: 4 }, // uneven split of each batch
  { n: 103, batchSize: 16, worldSize: 3 }, // short last batch
  { n: 65, batchSize: 64, worldSize: 4 }, // last batch of 1: three ranks get nothing
  { n: 7, batchSize: 64, worldSize: 8 }, // one batch, smaller than the world
  { n: 60_000, batchSize: 64, worldSize: 5 },
];

const plan = (n: number, batchSize: number, worldSize: number, rank: number, epoch = 1) => [
  ...epochBatches({ n, batchSize, seed: 9, epoch, rank, worldSize }),
];

describe('stepsPerEpoch', () => {
  it('counts the last partial batch', () => {
    expect(stepsPerEpoch(60_000, 64)).toBe(938);
    expect(stepsPerEpoch(64, 64)).toBe(1);
    expect(stepsPerEpoch(0, 64)).toBe(0);
    expect(() => stepsPerEpoch(10, 0)).toThrow('batchSize must be a positive integer, got 0');
  });
});

describe('epochBatches', () => {
  it('on one rank walks the epoch permutation in batches of B', () => {
    const batches = plan(10, 4, 1, 0);
    expect(batches.map((b) => b.step)).toEqual([0, 1, 2]);
    expect(batches.map((b) => b.globalCount)).toEqual([4, 4, 2]);
    expect(batches.flatMap((b) => [...b.indices])).toEqual([...epochPermutation(10, 9, 1)]);
  });

  it.each(CASES)(
    'covers the set exactly once per epoch over all ranks (n $n, B $batchSize, W $worldSize)',
    ({ n, batchSize, worldSize }) => {
      const seen = new Uint8Array(n);
      for (let rank = 0; rank < worldSize; rank++) {
        const batches = plan(n, batchSize, worldSize, rank);
        expect(batches).toHaveLength(stepsPerEpoch(n, batchSize)); // every rank steps together, even with nothing to do
        for (const b of batches) for (const i of b.indices) seen[i]! += 1;
      }
      expect(seen.every((c) => c === 1)).toBe(true);
    },
  );

  it.each(CASES)(
    "joins ranks' step-k batches into the one-trainer batch k (n $n, B $batchSize, W $worldSize)",
    ({ n, batchSize, worldSize }) => {
      const single = plan(n, batchSize, 1, 0);
      const perRank = Array.from({ length: worldSize }, (_, rank) => plan(n, batchSize, worldSize, rank));
      single.forEach((batch, k) => {
        const joined = perRank.flatMap((batches) => [...(batches[k]?.indices ?? [])]);
        expect(joined).toEqual([...batch.indices]);
        const sizes = perRank.map((batches) => batches[k]?.indices.length ?? -1);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
        perRank.forEach((batches) => expect(batches[k]?.globalCount).toBe(batch.globalCount));
      });
    },
  );

  it('gives a rank an empty batch when the last global batch is smaller than the world', () => {
    const last = plan(65, 64, 4, 3).at(-1);
    expect(last).toMatchObject({ step: 1, globalCount: 1 });
    expect(last?.indices.length).toBe(0);
  });

  it('reshuffles every epoch', () => {
    expect(plan(100, 10, 1, 0, 1)[0]?.indices).not.toEqual(plan(100, 10, 1, 0, 2)[0]?.indices);
  });

  it('checks its options when called, before iterating', () => {
    expect(() => epochBatches({ n: 10, batchSize: 4, seed: 1, epoch: 1, rank: 2, worldSize: 2 })).toThrow(
      'rank must be an integer in 0..1, got 2',
    );
  });
});
