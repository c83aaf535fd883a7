import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNats, natsBus } from '@mnist/cluster';
import { startNatsServer, type NatsServerHandle } from '@mnist/testing';
import { GroupCollective } from './group-collective.js';
import { NatsTransport } from './nats-transport.js';
import { sumInRankOrder } from './wire.js';

let server: NatsServerHandle;
const conns: Awaited<ReturnType<typeof connectNats>>[] = [];
beforeAll(async () => {
  server = await startNatsServer();
});
afterAll(async () => {
  await Promise.all(conns.map((c) => c.close()));
  await server?.stop();
});

let group = 0;
async function openRank(
  prefix: string,
  rank: number,
  worldSize: number,
  algorithm: 'direct' | 'reduce-scatter',
  maxPayloadBytes?: number,
) {
  const nc = await connectNats({ servers: [server.url], name: 'collective-test' });
  conns.push(nc);
  const transport = await NatsTransport.open({
    bus: natsBus(nc),
    prefix,
    rank,
    worldSize,
    ...(maxPayloadBytes ? { maxPayloadBytes } : {}),
  });
  return new GroupCollective({
    transport,
    rank,
    worldSize,
    algorithm,
    timeoutMs: 3_000,
    slowRoundTimeoutMs: 3_000,
    resendAfterMs: 200,
  });
}

const contribution = (rank: number, round: number, n: number) =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + rank * 1.3 + round) * 10 ** (((i + rank) % 7) - 3));

describe('GroupCollective over NATS (the fallback transport)', () => {
  for (const algorithm of ['direct', 'reduce-scatter'] as const) {
    it.each([2, 3])(
      `${algorithm}, %i ranks through a real nats-server, parts in several messages: rank-ordered bits, broker fan-out`,
      async (worldSize) => {
        const prefix = `mnist.collective.test${group++}.1`;
        const ranks = await Promise.all(
          Array.from({ length: worldSize }, (_, r) => openRank(prefix, r, worldSize, algorithm, 8 * 1024)),
        );
        const n = 10_000;
        for (let round = 0; round < 3; round++) {
          const inputs = ranks.map((c) => contribution(c.rank, round, n));
          const sums = await Promise.all(ranks.map((c, r) => c.allReduceSum(inputs[r]!).then((s) => s.slice())));
          const expected = sumInRankOrder(inputs);
          for (const s of sums) expect(Buffer.from(s.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
        }
        // A part every peer needs is published once (the broker fans out): each rank sends about G a round.
        const headers = 2 * worldSize * 8 * 32;
        for (const c of ranks) expect(c.takeStats().bytesSent / 3).toBeLessThanOrEqual(n * 4 + headers);
        ranks.forEach((c) => c.close());
      },
    );
  }

  it.each(['direct', 'reduce-scatter'] as const)(
    '%s: recovers a round a late joiner missed by asking for a resend',
    async (algorithm) => {
      const prefix = `mnist.collective.test${group++}.1`;
      const r0 = await openRank(prefix, 0, 2, algorithm);
      const first = r0.allReduceSum(Float32Array.of(1, 2)); // published before rank 1 subscribes: lost
      await new Promise((r) => setTimeout(r, 300));
      const r1 = await openRank(prefix, 1, 2, algorithm);
      const [a, b] = await Promise.all([
        first.then((s) => [...s]),
        r1.allReduceSum(Float32Array.of(10, 20)).then((s) => [...s]),
      ]);
      expect(a).toEqual([11, 22]);
      expect(b).toEqual([11, 22]);
    },
  );
});
