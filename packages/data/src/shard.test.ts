import { describe, expect, it } from 'vitest';
import { IMAGE_SIZE, shardRange, shardSplit, type Split } from './index.js';

const ranges = (length: number, worldSize: number) =>
  Array.from({ length: worldSize }, (_, r) => shardRange(length, r, worldSize));

describe('shardRange', () => {
  it('splits like numpy.array_split: the first length % W ranks take one more', () => {
    expect(ranges(10, 3)).toEqual([
      { start: 0, end: 4 },
      { start: 4, end: 7 },
      { start: 7, end: 10 },
    ]);
    expect(ranges(64, 4).map((r) => r.end - r.start)).toEqual([16, 16, 16, 16]);
  });

  it('gives some ranks nothing when there are fewer items than ranks', () => {
    expect(ranges(2, 4)).toEqual([
      { start: 0, end: 1 },
      { start: 1, end: 2 },
      { start: 2, end: 2 },
      { start: 2, end: 2 },
    ]);
    expect(ranges(0, 3).every((r) => r.start === 0 && r.end === 0)).toBe(true);
  });

  it('covers 0..length exactly once with adjacent ranges whose sizes differ by at most 1', () => {
    for (const length of [0, 1, 5, 63, 64, 65, 1_000, 60_000]) {
      for (const w of [1, 2, 3, 4, 7, 8, 64]) {
        const rs = ranges(length, w);
        expect(rs[0]?.start).toBe(0);
        expect(rs.at(-1)?.end).toBe(length);
        rs.slice(1).forEach((r, i) => expect(r.start).toBe(rs[i]?.end));
        const sizes = rs.map((r) => r.end - r.start);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }
    }
  });

  it('rejects a rank outside the world or a bad world size', () => {
    expect(() => shardRange(10, 3, 3)).toThrow('rank must be an integer in 0..2, got 3');
    expect(() => shardRange(10, 0, 0)).toThrow('worldSize must be a positive integer, got 0');
    expect(() => shardRange(-1, 0, 1)).toThrow(RangeError);
  });
});

describe('shardSplit', () => {
  it("returns views of a rank's examples, without copying", () => {
    const count = 5;
    const split: Split = {
      images: Float32Array.from({ length: count * IMAGE_SIZE }, (_, i) => Math.floor(i / IMAGE_SIZE)),
      labels: Int32Array.of(0, 1, 2, 3, 4),
      count,
    };
    const part = shardSplit(split, 1, 2); // examples 3 and 4
    expect(part.count).toBe(2);
    expect([...part.labels]).toEqual([3, 4]);
    expect(part.images.length).toBe(2 * IMAGE_SIZE);
    expect(part.images[0]).toBe(3);
    expect(part.images.buffer).toBe(split.images.buffer);
  });
});
