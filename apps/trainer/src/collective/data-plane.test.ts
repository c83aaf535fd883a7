import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNats, natsBus } from '@mnist/cluster';
import { createLogger } from '@mnist/core';
import type { TransportChoice } from '@mnist/protocol';
import { startNatsServer, type NatsServerHandle } from '@mnist/testing';
import { DataPlane } from './data-plane.js';
import { MeshError } from './errors.js';
import { DataListener, type DataEndpoint } from './tcp/data-listener.js';

let server: NatsServerHandle;
const conns: Awaited<ReturnType<typeof connectNats>>[] = [];
const listeners: DataListener[] = [];
beforeAll(async () => {
  server = await startNatsServer();
});
afterAll(async () => {
  for (const l of listeners) l.close();
  await Promise.all(conns.map((c) => c.close()));
  await server?.stop();
});

let job = 0;
/** Two ranks; `unreachable` makes rank 1 advertise an address where nothing listens. */
async function pair(choice: TransportChoice, unreachable = false) {
  const jobId = `j-plane-${job++}`;
  const ls = await Promise.all(
    [0, 1].map(() => DataListener.open({ bind: '127.0.0.1', ports: [0, 0], advertise: '127.0.0.1' })),
  );
  listeners.push(...ls);
  const endpoints: DataEndpoint[] = ls.map((l) => l.endpoint);
  if (unreachable) endpoints[1] = { host: '127.0.0.2', port: endpoints[1]!.port }; // bound to 127.0.0.1 only: refused
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({}, { write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });
  const planes = await Promise.all(
    [0, 1].map(async (rank) => {
      const nc = await connectNats({ servers: [server.url], name: 'collective-test' });
      conns.push(nc);
      const mesh = {
        listener: ls[rank]!,
        endpoints,
        jobId,
        attempt: 1,
        secret: 'a-secret-of-16-chars',
        deadlineMs: 500,
      };
      const signal = new AbortController().signal;
      return DataPlane.open({
        choice,
        bus: natsBus(nc),
        prefix: `mnist.collective.${jobId}.1`,
        rank,
        worldSize: 2,
        algorithm: 'auto',
        timeoutMs: 5_000,
        slowRoundTimeoutMs: 5_000,
        signal,
        mesh,
        log,
      });
    }),
  );
  return { planes, lines };
}

const exchange = (planes: DataPlane[]) =>
  Promise.all(planes.map((p) => p.allReduceSum(Float32Array.of(p.rank + 1, 10)).then((s) => [...s])));

describe('DataPlane: which transport a group uses', () => {
  it('auto with reachable peers: every rank on TCP', async () => {
    const { planes } = await pair('auto');
    expect(await Promise.all(planes.map((p) => p.connect()))).toEqual([{ transport: 'tcp' }, { transport: 'tcp' }]);
    expect(await exchange(planes)).toEqual([
      [3, 20],
      [3, 20],
    ]);
    planes.forEach((p) => p.close());
  });

  it('auto, one rank unreachable: the whole group falls back to NATS, says why, and still sums right', async () => {
    const { planes, lines } = await pair('auto', true);
    const choices = await Promise.all(planes.map((p) => p.connect()));
    for (const c of choices) expect(c.transport).toBe('nats');
    expect(choices[0]!.fallbackReason).toMatch(/rank 1 at 127\.0\.0\.2/);
    expect(lines.filter((l) => l.event === 'data_plane.fallback').length).toBe(2);
    expect(await exchange(planes)).toEqual([
      [3, 20],
      [3, 20],
    ]);
    planes.forEach((p) => p.close());
  });

  it('tcp required but unreachable: the attempt fails with the reason (no silent fallback)', async () => {
    const { planes } = await pair('tcp', true);
    const results = await Promise.allSettled(planes.map((p) => p.connect()));
    for (const r of results) expect(r.status === 'rejected' && r.reason instanceof MeshError).toBe(true);
    planes.forEach((p) => p.close());
  });

  it('nats: no connections at all', async () => {
    const { planes } = await pair('nats');
    expect(await Promise.all(planes.map((p) => p.connect()))).toEqual([{ transport: 'nats' }, { transport: 'nats' }]);
    expect(await exchange(planes)).toEqual([
      [3, 20],
      [3, 20],
    ]);
    planes.forEach((p) => p.close());
  });
});
