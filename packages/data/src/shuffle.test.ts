import { describe, expect, it } from 'vitest';
import { epochPermutation } from './index.js';

const isPermutation = (perm: Uint32Array, n: number) =>
  perm.length === n && [...perm].sort((a, b) => a - b).every((v, i) => v === i);

describe('epochPermutation', () => {
  it('gives the same order for the same (n, seed, epoch)', () => {
    expect(epochPermutation(60_000, 7, 3)).toEqual(epochPermutation(60_000, 7, 3));
  });

  it('is pinned: these orders must never change, or reproductions and resumes drift', () => {
    expect([...epochPermutation(10, 1, 1)]).toEqual([7, 2, 8, 9, 1, 6, 5, 0, 4, 3]);
    expect([...epochPermutation(10, 1, 2)]).toEqual([5, 8, 6, 9, 3, 2, 1, 7, 4, 0]);
    expect([...epochPermutation(60_000, 42, 3).subarray(0, 8)]).toEqual([
      432, 33641, 1768, 21804, 7470, 28682, 24212, 49992,
    ]);
  });

  it('differs between epochs and between seeds', () => {
    const base = epochPermutation(1_000, 1, 1);
    expect(epochPermutation(1_000, 1, 2)).not.toEqual(base);
    expect(epochPermutation(1_000, 2, 1)).not.toEqual(base);
    // Swapping seed and epoch must not give the same order either.
    expect(epochPermutation(1_000, 2, 3)).not.toEqual(epochPermutation(1_000, 3, 2));
  });

  it('is a permutation of 0..n-1, including the edge sizes', () => {
    for (const n of [0, 1, 2, 3, 64, 1_000, 60_000]) expect(isPermutation(epochPermutation(n, 5, 0), n)).toBe(true);
  });

  it('moves most elements (it really shuffles)', () => {
    const perm = epochPermutation(1_000, 1, 1);
    const fixedPoints = perm.filter((v, i) => v === i).length;
    expect(fixedPoints).toBeLessThan(10);
  });

  it('rejects arguments the 32-bit generator cannot represent', () => {
    expect(() => epochPermutation(-1, 1, 1)).toThrow(RangeError);
    expect(() => epochPermutation(10, 2 ** 32, 1)).toThrow('seed must be an integer in 0..4294967295, got 4294967296');
    expect(() => epochPermutation(10, 1, 1.5)).toThrow('epoch must be an integer');
  });
});
