import { connect } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { CollectivePeerLostError, MeshError } from '../errors.js';
import { GroupCollective } from '../group-collective.js';
import { sumInRankOrder } from '../wire.js';
import { DataListener } from './data-listener.js';
import { FRAME, FrameReader, jsonFrame } from './frames.js';
import { helloFor, type RankKey } from './hello.js';
import { formMesh } from './mesh.js';

const listeners: DataListener[] = [];
afterAll(() => {
  for (const l of listeners) l.close();
});

async function openListeners(n: number): Promise<DataListener[]> {
  const ls = await Promise.all(
    Array.from({ length: n }, () =>
      DataListener.open({ bind: '127.0.0.1', ports: [0, 0], advertise: '127.0.0.1', handshakeTimeoutMs: 1_000 }),
    ),
  );
  listeners.push(...ls);
  return ls;
}

let job = 0;
async function mesh(worldSize: number, timeoutMs = 5_000) {
  const ls = await openListeners(worldSize);
  const jobId = `j-test-${job++}`;
  const keys: RankKey[] = ls.map((_, rank) => ({ jobId, attempt: 1, rank, worldSize, secret: 's3cret' }));
  const transports = await Promise.all(
    keys.map((key, rank) =>
      formMesh({ key, endpoints: ls.map((l) => l.endpoint), listener: ls[rank]!, deadlineMs: 5_000 }),
    ),
  );
  const ranks = transports.map(
    (transport, rank) => new GroupCollective({ transport, rank, worldSize, timeoutMs, slowRoundTimeoutMs: timeoutMs }),
  );
  return { ls, keys, transports, ranks };
}

const contribution = (rank: number, round: number, n: number) =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + rank * 1.3 + round) * 10 ** (((i + rank) % 7) - 3));
const sameBits = (a: Float32Array, b: Float32Array) =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** Dials a listener by hand and returns its answer to a hello. */
function rawHello(l: DataListener, hello: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const s = connect(l.endpoint.port, l.endpoint.host);
    const reader = new FrameReader((_type, body) => resolve(JSON.parse(body.toString())));
    s.on('data', (d) => reader.push(d));
    s.on('error', reject);
    s.on('connect', () => s.write(jsonFrame(FRAME.hello, hello)));
  });
}

describe('TCP data plane', () => {
  for (const algorithm of ['direct', 'reduce-scatter'] as const) {
    it.each([2, 3, 4])(
      `${algorithm}, %i ranks over loopback: a full mesh, and every rank gets the bits of the rank-ordered sum`,
      async (worldSize) => {
        const { ranks, transports } = await mesh(worldSize);
        const rs = ranks.map(
          (c, rank) =>
            new GroupCollective({
              transport: transports[rank]!,
              rank,
              worldSize,
              algorithm,
              timeoutMs: 5_000,
              slowRoundTimeoutMs: 5_000,
            }),
        );
        const n = 61_708; // LeNet-5's gradient plus loss and count: one 247 KB part
        for (let round = 0; round < 3; round++) {
          const inputs = rs.map((c) => contribution(c.rank, round, n));
          const sums = await Promise.all(rs.map((c, r) => c.allReduceSum(inputs[r]!).then((s) => s.slice())));
          for (const s of sums) expect(sameBits(s, sumInRankOrder(inputs))).toBe(true);
        }
        for (const c of rs) {
          const stats = c.takeStats();
          // direct: each rank receives (N-1)·G; reduce-scatter: 2·(N-1)/N·G, plus frame headers.
          const g = n * 4;
          const expected = algorithm === 'direct' ? (worldSize - 1) * g : (2 * (worldSize - 1) * g) / worldSize;
          expect(stats.bytesReceived / 3).toBeGreaterThanOrEqual(expected - 8);
          expect(stats.bytesReceived / 3).toBeLessThanOrEqual(expected + 2 * worldSize * 64);
        }
        rs.forEach((c) => c.close());
        void ranks;
      },
    );
  }

  it('a peer whose process dies (socket destroyed) fails the pending round at once', async () => {
    const { ranks, transports } = await mesh(3, 60_000);
    await Promise.all(ranks.map((c) => c.allReduceSum(Float32Array.of(c.rank))));
    const started = performance.now();
    const pending = ranks.slice(0, 2).map((c) => c.allReduceSum(Float32Array.of(1)).catch((e: unknown) => e));
    // Rank 2 vanishes without a word: its sockets are destroyed, as the kernel does for a killed process.
    (transports[2] as unknown as { peers: Map<number, { socket: { destroy(): void } }> }).peers.forEach((p) =>
      p.socket.destroy(),
    );
    const errors = await Promise.all(pending);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(errors.some((e) => e instanceof CollectivePeerLostError && e.peerRank === 2)).toBe(true);
  });

  it('refuses a stranger, a wrong secret, a stale attempt and a foreign wire version, with the reason', async () => {
    const { ls, keys } = await mesh(2);
    const [l1] = [ls[1]!];
    const k = keys[1]!;
    // The mesh formed and the rank's expectation ended: a late or stale dialer is told so.
    expect(await rawHello(l1, helloFor({ ...keys[0]!, attempt: 1 }, 1))).toMatchObject({ ok: false, retry: true });
    const stop = l1.expect({ ...k, attempt: 2 }, () => undefined);
    expect(await rawHello(l1, helloFor({ ...keys[0]!, attempt: 2, secret: 'guess' }, 1))).toMatchObject({
      ok: false,
      retry: false,
      reason: /secret/,
    });
    expect(await rawHello(l1, { ...helloFor({ ...keys[0]!, attempt: 2 }, 1), wire: 99 })).toMatchObject({
      ok: false,
      reason: /wire version/,
    });
    expect(await rawHello(l1, { hello: 'world' })).toMatchObject({ ok: false, reason: /hello/ });
    expect(await rawHello(l1, helloFor({ ...keys[0]!, attempt: 2 }, 1))).toEqual({ ok: true });
    stop();
  });

  it('a mesh that cannot form fails within its deadline, naming the unreachable rank', async () => {
    const [l0, l1] = await openListeners(2);
    l1!.close(); // nothing listens there any more
    const key: RankKey = { jobId: 'j-unreachable', attempt: 1, rank: 0, worldSize: 2, secret: 'x' };
    const started = performance.now();
    const err = await formMesh({ key, endpoints: [l0!.endpoint, l1!.endpoint], listener: l0!, deadlineMs: 400 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MeshError);
    expect((err as Error).message).toMatch(/rank 1 at 127\.0\.0\.1:\d+/);
    expect(performance.now() - started).toBeLessThan(3_000);
  });
});
