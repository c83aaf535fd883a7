/**
 * How data-parallel ranks agree on an update: every step each rank contributes its
 * local gradients and all ranks receive the element-wise sum. The loop never knows
 * what carries the bytes (in-process here, NATS in the trainer app).
 */
export interface Collective {
  readonly rank: number;
  readonly worldSize: number;
  /** Sums `values` over all ranks; resolves with the sum (the same on every rank). */
  allReduceSum(values: Float32Array): Promise<Float32Array>;
}

/** A group of one: the sum over ranks is the input itself. */
export class LocalCollective implements Collective {
  readonly rank = 0;
  readonly worldSize = 1;
  async allReduceSum(values: Float32Array): Promise<Float32Array> {
    return values;
  }
}

/**
 * N ranks inside one process (tests, and a reference for real transports): each call
 * waits until every rank has contributed to the same round, then all get the sum.
 */
export function createInProcessGroup(worldSize: number): Collective[] {
  let round: { sum: Float32Array | undefined; arrived: number; waiters: Array<(s: Float32Array) => void> } = {
    sum: undefined,
    arrived: 0,
    waiters: [],
  };
  const contribute = (values: Float32Array) =>
    new Promise<Float32Array>((resolve) => {
      const r = round;
      if (!r.sum) r.sum = new Float32Array(values.length);
      else if (r.sum.length !== values.length)
        throw new Error(`allReduceSum: length ${values.length} != ${r.sum.length}`);
      for (let i = 0; i < values.length; i++) r.sum[i]! += values[i]!;
      r.waiters.push(resolve);
      if (++r.arrived === worldSize) {
        round = { sum: undefined, arrived: 0, waiters: [] };
        for (const w of r.waiters) w(r.sum.slice());
      }
    });
  return Array.from({ length: worldSize }, (_, rank) => ({ rank, worldSize, allReduceSum: contribute }));
}
