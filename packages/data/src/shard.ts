import { IMAGE_SIZE } from './idx.js';
import type { Split } from './load-dataset.js';

/** Half-open index range [start, end). */
export interface IndexRange {
  start: number;
  end: number;
}

/** Throws a RangeError unless 0 <= rank < worldSize, both integers. */
export function checkRank(rank: number, worldSize: number): void {
  if (!Number.isInteger(worldSize) || worldSize < 1)
    throw new RangeError(`worldSize must be a positive integer, got ${worldSize}`);
  if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize) {
    throw new RangeError(`rank must be an integer in 0..${worldSize - 1}, got ${rank}`);
  }
}

/**
 * Rank `rank`'s contiguous part of `length` items split over `worldSize` ranks, like
 * numpy.array_split: the first `length % worldSize` ranks take one extra item, so sizes
 * differ by at most one and a rank may get none when length < worldSize. The ranges of
 * ranks 0..worldSize-1 are adjacent and cover 0..length exactly once.
 */
export function shardRange(length: number, rank: number, worldSize: number): IndexRange {
  checkRank(rank, worldSize);
  if (!Number.isInteger(length) || length < 0)
    throw new RangeError(`length must be a non-negative integer, got ${length}`);
  const base = Math.floor(length / worldSize);
  const extra = length % worldSize;
  const start = rank * base + Math.min(rank, extra);
  return { start, end: start + base + (rank < extra ? 1 : 0) };
}

/** Rank `rank`'s part of a split (shardRange over its examples), as views: nothing is copied. */
export function shardSplit(split: Split, rank: number, worldSize: number): Split {
  const { start, end } = shardRange(split.count, rank, worldSize);
  return {
    images: split.images.subarray(start * IMAGE_SIZE, end * IMAGE_SIZE),
    labels: split.labels.subarray(start, end),
    count: end - start,
  };
}
