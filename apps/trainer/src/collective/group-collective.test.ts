import { describe, expect, it } from 'vitest';
import { CollectiveAbortedError, CollectivePeerLostError, CollectiveTimeoutError } from './errors.js';
import { GroupCollective, type GroupCollectiveOptions } from './group-collective.js';
import { MemoryNetwork, type MemoryNetworkOptions } from './memory-transport.js';
import { sumInRankOrder } from './wire.js';

function group(worldSize: number, net: MemoryNetworkOptions = {}, extra: Partial<GroupCollectiveOptions> = {}) {
  const network = new MemoryNetwork(worldSize, net);
  const ranks = Array.from(
    { length: worldSize },
    (_, rank) =>
      new GroupCollective({
        transport: network.transport(rank),
        rank,
        worldSize,
        timeoutMs: 2_000,
        slowRoundTimeoutMs: 2_000,
        resendAfterMs: 50,
        ...extra,
      }),
  );
  return { network, ranks };
}

/** Values whose float sum depends on the order of addition. */
const contribution = (rank: number, round: number, n: number) =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + rank * 1.3 + round) * 10 ** (((i + rank) % 7) - 3));

const sameBits = (a: Float32Array, b: Float32Array) =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

describe('GroupCollective over an in-memory transport', () => {
  for (const algorithm of ['direct', 'reduce-scatter'] as const) {
    for (const worldSize of [2, 3, 4]) {
      it(`${algorithm}, ${worldSize} ranks, reordered chunks: ranks get the bits of the rank-ordered sum`, async () => {
        const { ranks } = group(worldSize, { chunkFloats: 700, jitterMs: 3 }, { algorithm });
        for (let round = 0; round < 4; round++) {
          const inputs = ranks.map((c) => contribution(c.rank, round, 5_000));
          const sums = await Promise.all(ranks.map((c, r) => c.allReduceSum(inputs[r]!).then((s) => s.slice())));
          const expected = sumInRankOrder(inputs);
          for (const s of sums) expect(sameBits(s, expected)).toBe(true);
        }
        ranks.forEach((c) => c.close());
      });
    }
  }

  it.each(['direct', 'reduce-scatter'] as const)(
    '%s on a lossy transport: lost parts are asked for again and the sum is still exact',
    async (algorithm) => {
      let dropped = 0;
      // Every first copy of round 1's parts (scatter and gather) is lost once.
      const seen = new Set<string>();
      const drop = (from: number, to: number, h: { round: number; phase: number }) => {
        const k = `${from}>${to}:${h.round}:${h.phase}`;
        if (h.round !== 1 || seen.has(k)) return false;
        seen.add(k);
        dropped++;
        return true;
      };
      const { ranks } = group(3, { reliable: false, drop }, { algorithm });
      for (let round = 0; round < 3; round++) {
        const inputs = ranks.map((c) => contribution(c.rank, round, 999));
        const sums = await Promise.all(ranks.map((c, r) => c.allReduceSum(inputs[r]!).then((s) => s.slice())));
        for (const s of sums) expect(sameBits(s, sumInRankOrder(inputs))).toBe(true);
      }
      expect(dropped).toBeGreaterThan(0);
    },
  );

  it('a reliable transport never asks for resends: a lost part is a timeout, not a retry', async () => {
    const { ranks } = group(2, { reliable: true }, { timeoutMs: 300, slowRoundTimeoutMs: 300 });
    // Rank 1 never enters the round: rank 0 must fail after its deadline, naming rank 1.
    const err = await ranks[0]!.allReduceSum(Float32Array.of(1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CollectiveTimeoutError);
    expect((err as CollectiveTimeoutError).missingRanks).toEqual([1]);
  });

  it('a dead peer (its connection closed) fails the pending round at once, not after the timeout', async () => {
    const { network, ranks } = group(3, {}, { timeoutMs: 60_000, slowRoundTimeoutMs: 60_000 });
    await Promise.all(ranks.map((c) => c.allReduceSum(Float32Array.of(c.rank))));
    const started = performance.now();
    const pending = ranks.slice(0, 2).map((c) => c.allReduceSum(Float32Array.of(1)).catch((e: unknown) => e));
    setTimeout(() => network.kill(2), 20);
    const errors = await Promise.all(pending);
    expect(performance.now() - started).toBeLessThan(5_000);
    for (const e of errors) expect(e).toBeInstanceOf(CollectivePeerLostError);
    expect((errors[0] as CollectivePeerLostError).peerRank).toBe(2);
    await expect(ranks[0]!.allReduceSum(Float32Array.of(1))).rejects.toThrow(); // a failed group stays failed
  });

  it('a silent peer becomes a timeout naming it, and the others are told to stop', async () => {
    const { ranks } = group(3, {}, { timeoutMs: 300, slowRoundTimeoutMs: 300 });
    const results = await Promise.allSettled([
      ranks[0]!.allReduceSum(Float32Array.of(1)),
      ranks[1]!.allReduceSum(Float32Array.of(2)),
    ]);
    const errors = results.map((r) => (r.status === 'rejected' ? r.reason : undefined));
    expect(errors.some((e) => e instanceof CollectiveTimeoutError && e.missingRanks.includes(2))).toBe(true);
    expect(errors.every((e) => e instanceof CollectiveTimeoutError || e instanceof CollectiveAbortedError)).toBe(true);
  });

  it('an abort tells peers its reason and whether to retry; a local signal fails the pending round', async () => {
    const { ranks } = group(2);
    const waiting = ranks[0]!.allReduceSum(Float32Array.of(1));
    ranks[1]!.abort('rank 1: StorageError: S3 is down', true);
    const err = await waiting.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CollectiveAbortedError);
    expect(err).toMatchObject({ fromRank: 1, fatal: true, reason: 'rank 1: StorageError: S3 is down' });
    const ac = new AbortController();
    const solo = group(2, {}, { signal: ac.signal }).ranks[0]!;
    const pending = solo.allReduceSum(Float32Array.of(1));
    ac.abort(new Error('job cancelled'));
    await expect(pending).rejects.toMatchObject({
      name: 'CollectiveAbortedError',
      reason: 'job cancelled',
      fatal: false,
    });
  });

  it('reuses its output and receive buffers by round parity: steady rounds allocate no new vectors', async () => {
    const { ranks } = group(2);
    const outs: Float32Array[] = [];
    for (let round = 0; round < 4; round++) {
      const [a] = await Promise.all(ranks.map((c) => c.allReduceSum(contribution(c.rank, round, 100))));
      outs.push(a!);
    }
    expect(outs[2]).toBe(outs[0]);
    expect(outs[3]).toBe(outs[1]);
    expect(outs[1]).not.toBe(outs[0]);
  });
});
