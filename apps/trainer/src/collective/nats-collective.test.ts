import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNatsServer, type NatsServerHandle } from '@mnist/testing';
import { CollectiveAbortedError, CollectiveTimeoutError } from './errors.js';
import { NatsCollective, type NatsCollectiveOptions } from './nats-collective.js';
import { sumInRankOrder } from './wire.js';

let server: NatsServerHandle;
const conns: NatsConnection[] = [];
beforeAll(async () => {
  server = await startNatsServer();
});
afterAll(async () => {
  await Promise.all(conns.map((c) => c.close()));
  await server?.stop();
});

let group = 0;
async function openGroup(worldSize: number, extra: Partial<NatsCollectiveOptions> = {}, ranks = [...Array(worldSize).keys()]) {
  const prefix = `mnist.collective.test${group++}.1`;
  return Promise.all(
    ranks.map(async (rank) => {
      const nc = await connect({ servers: server.url });
      conns.push(nc);
      return NatsCollective.open({ nc, prefix, rank, worldSize, timeoutMs: 3_000, slowRoundTimeoutMs: 3_000, resendAfterMs: 200, ...extra });
    }),
  );
}

/** Values whose float sum depends on the order of addition. */
const contribution = (rank: number, round: number, n: number) =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + rank * 1.3 + round) * 10 ** ((i + rank) % 7 - 3));

describe('NatsCollective', () => {
  const n = 10_000;
  const bytes = (floats: number) => floats * 4;

  for (const algorithm of ['direct', 'reduce-scatter'] as const) {
    for (const worldSize of [2, 3, 4]) {
      it(`${algorithm}, ${worldSize} ranks: every rank gets the bits of the rank-ordered sum, over chunks and rounds`, async () => {
        const ranks = await openGroup(worldSize, { algorithm, maxPayloadBytes: 8 * 1024 }); // ~1.7k floats per message: several chunks
        for (let round = 0; round < 3; round++) {
          const inputs = ranks.map((c) => contribution(c.rank, round, n));
          const sums = await Promise.all(ranks.map((c, r) => c.allReduceSum(inputs[r]!)));
          const expected = sumInRankOrder(inputs);
          for (const s of sums) expect(Buffer.from(s.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
        }
        // Traffic per rank and round: reduce-scatter stays about 2·G received whatever N is; direct receives (N-1)·G.
        const headers = 2 * worldSize * 8 * 32; // at most this many chunk headers per round, generously
        for (const c of ranks) {
          const stats = c.takeStats();
          expect(stats.rounds).toBe(3);
          const received = stats.bytesReceived / 3;
          const sent = stats.bytesSent / 3;
          if (algorithm === 'reduce-scatter') {
            expect(received).toBeGreaterThanOrEqual(bytes((2 * (worldSize - 1) * n) / worldSize) - 8);
            expect(received).toBeLessThanOrEqual(bytes(2 * n) + headers);
            expect(sent).toBeLessThanOrEqual(bytes(n) + headers);
          } else {
            expect(received).toBeGreaterThanOrEqual(bytes((worldSize - 1) * n));
            expect(received).toBeLessThanOrEqual(bytes((worldSize - 1) * n) + headers);
          }
          expect(stats.meanHopMs).toBeGreaterThanOrEqual(0);
        }
        ranks.forEach((c) => c.close());
      });
    }
  }

  it.each(['direct', 'reduce-scatter'] as const)('%s: recovers a round a late joiner missed by asking for a resend', async (algorithm) => {
    const [r0] = await openGroup(2, { algorithm }, [0]);
    const prefixGroup = group - 1;
    const first = r0!.allReduceSum(Float32Array.of(1, 2)); // published before rank 1 subscribes: lost
    await new Promise((r) => setTimeout(r, 300));
    const nc = await connect({ servers: server.url });
    conns.push(nc);
    const r1 = await NatsCollective.open({ nc, prefix: `mnist.collective.test${prefixGroup}.1`, rank: 1, worldSize: 2, algorithm, timeoutMs: 3_000, slowRoundTimeoutMs: 3_000, resendAfterMs: 200 });
    const [a, b] = await Promise.all([first, r1.allReduceSum(Float32Array.of(10, 20))]);
    expect([...a]).toEqual([11, 22]);
    expect([...b]).toEqual([11, 22]);
  });

  it('turns a silent peer into a timeout naming it, and tells the others to stop', async () => {
    const ranks = await openGroup(3, { timeoutMs: 500, slowRoundTimeoutMs: 500 });
    const [r0, r1] = [ranks[0]!, ranks[1]!];
    const results = await Promise.allSettled([r0.allReduceSum(Float32Array.of(1)), r1.allReduceSum(Float32Array.of(2))]);
    const errors = results.map((r) => (r.status === 'rejected' ? r.reason : undefined));
    expect(errors.some((e) => e instanceof CollectiveTimeoutError && e.missingRanks.includes(2))).toBe(true);
    expect(errors.every((e) => e instanceof CollectiveTimeoutError || e instanceof CollectiveAbortedError)).toBe(true);
    await expect(r0.allReduceSum(Float32Array.of(1))).rejects.toThrow(); // a failed group stays failed
  });

  it('an abort reaches the peers with its reason and whether to retry', async () => {
    const ac = new AbortController();
    const ranks = await openGroup(2, { timeoutMs: 5_000 });
    const waiting = ranks[0]!.allReduceSum(Float32Array.of(1));
    ranks[1]!.abort('rank 1: StorageError: S3 is down', true);
    const err = await waiting.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CollectiveAbortedError);
    expect(err).toMatchObject({ fromRank: 1, fatal: true, reason: 'rank 1: StorageError: S3 is down' });
    // A local abort signal fails the pending round at once.
    const [solo] = await openGroup(2, { signal: ac.signal, timeoutMs: 5_000 }, [0]);
    const pending = solo!.allReduceSum(Float32Array.of(1));
    ac.abort(new Error('job cancelled'));
    await expect(pending).rejects.toMatchObject({ name: 'CollectiveAbortedError', reason: 'job cancelled', fatal: false });
  });
});
