import { checkRank, shardRange } from './shard.js';
import { epochPermutation } from './shuffle.js';

export interface EpochBatchesOptions {
  /** Number of examples in the training split. */
  n: number;
  /** The global batch: the sum over ranks of what each rank takes per step. */
  batchSize: number;
  seed: number;
  epoch: number;
  rank?: number;
  worldSize?: number;
}

export interface PlannedBatch {
  /** 0-based step within the epoch. */
  step: number;
  /** This rank's example indices: a view into the epoch's permutation (do not modify). */
  indices: Uint32Array;
  /**
   * Size of the global batch at this step (smaller on the last step); ranks weight gradients by
   * indices.length / globalCount.
   */
  globalCount: number;
}

export function stepsPerEpoch(n: number, batchSize: number): number {
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer, got ${n}`);
  return Math.ceil(n / batchSize);
}

/**
 * The batches of one epoch for one rank. Global batch k is perm[kB .. min((k+1)B, n)) of
 * the epoch's permutation; each rank takes its shardRange of it. So the union over ranks
 * of their step-k batches is exactly the batch k a single trainer (worldSize 1) sees, and
 * N ranks averaging gradients train like one trainer at batch B.
 * Options are checked on call, not on the first iteration.
 */
export function epochBatches({
  n,
  batchSize,
  seed,
  epoch,
  rank = 0,
  worldSize = 1,
}: EpochBatchesOptions): IterableIterator<PlannedBatch> {
  const steps = stepsPerEpoch(n, batchSize);
  checkRank(rank, worldSize);
  const perm = epochPermutation(n, seed, epoch);
  function* plan(): Generator<PlannedBatch> {
    for (let step = 0; step < steps; step++) {
      const from = step * batchSize;
      const globalCount = Math.min(batchSize, n - from);
      const { start, end } = shardRange(globalCount, rank, worldSize);
      yield { step, indices: perm.subarray(from + start, from + end), globalCount };
    }
  }
  return plan();
}
