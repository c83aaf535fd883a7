import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { claim, NATS_NAMES, parseJobSpec, recordEpoch } from '@mnist/protocol';
import { startNatsCluster, type NatsClusterHandle } from '@mnist/testing';
import { connectNats } from './connect.js';
import { openCluster } from './cluster-client.js';
import { withNatsRetry } from './nats-errors.js';

/** The control plane on a 3-node JetStream cluster with NATS_REPLICAS=3 (real nats-servers). */
let servers: NatsClusterHandle;
beforeAll(async () => {
  servers = await startNatsCluster({ nodes: 3 });
});
afterAll(async () => {
  await servers?.stop();
});

const STREAMS = [
  `KV_${NATS_NAMES.jobsBucket}`,
  `KV_${NATS_NAMES.trainersBucket}`,
  NATS_NAMES.tasksStream,
  NATS_NAMES.eventsStream,
  NATS_NAMES.logsStream,
];

describe('a replicated control plane', () => {
  it('makes every stream and bucket with 3 replicas; keeps records and events through losing the leader', async () => {
    const nc = await connectNats({ servers: servers.url.split(','), name: 'replicas-test', reconnectTimeWaitMs: 100 });
    try {
      // As the trainer opens it: a cluster just formed may time out making its first R3 streams (CI did).
      const cluster = await withNatsRetry(() => openCluster(nc, { resources: { replicas: 3 } }), {
        what: 'open cluster',
        maxMs: 60_000,
      });
      expect(cluster.settings.replicas).toBe(3);
      const jsm = await jetstreamManager(nc);
      for (const name of STREAMS) expect((await jsm.streams.info(name)).config.num_replicas, name).toBe(3);

      const job = await cluster.submit(parseJobSpec({ model: 'mlp', epochs: 1 }));
      await cluster.jobs.transition(job.id, claim({ trainers: ['t'], backend: 'cpu', epoch: 0 }));
      const leader = (await jsm.streams.info(`KV_${NATS_NAMES.jobsBucket}`)).cluster!.leader!;
      await servers.node(leader).kill();
      // Writes go on on the two left (after a new leader is elected: retried by the CAS loop's caller here).
      await retry(() => cluster.jobs.transition(job.id, recordEpoch({ epoch: 1, backend: 'cpu' })));
      // Not the node's /healthz: that also waits out ordered consumers of this test's reads that
      // were placed on the killed node (R1, gone with it, kept 5 min); the replica check below is the point.
      await servers.node(leader).start();
      // The restarted node caught up on every stream: a current replica again (reads below may go to it).
      expect(await until(() => caughtUp(jsm, leader), 60_000)).toBe(true);
      expect((await retry(() => cluster.jobs.get(job.id)))?.epoch).toBe(1);
      // A read that meets an election in progress times out and is retried, as a client's would be.
      const states = await retry(async () => {
        const seen: string[] = [];
        for await (const { event } of cluster.events.follow(job.id, { signal: AbortSignal.timeout(5_000) })) {
          if (event.type === 'status') seen.push(event.state);
          if (seen.length === 2) break;
        }
        return seen;
      });
      expect(states).toEqual(['queued', 'running']);
    } finally {
      await nc.close();
    }
  }, 150_000);
});

/** Every stream has a leader, and `node` leads it or is a current replica of it. */
async function caughtUp(jsm: Awaited<ReturnType<typeof jetstreamManager>>, node: string): Promise<boolean> {
  for (const name of STREAMS) {
    const info = await jsm.streams.info(name).catch(() => undefined);
    const c = info?.cluster;
    if (!c?.leader) return false;
    if (c.leader !== node && !(c.replicas ?? []).some((r) => r.name === node && r.current)) return false;
  }
  return true;
}

async function until(ok: () => Promise<boolean>, ms = 15_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await ok()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

async function retry<T>(fn: () => Promise<T>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
