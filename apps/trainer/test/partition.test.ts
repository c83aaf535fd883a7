import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { NATS_NAMES } from '@mnist/protocol';
import { createVirtualHosts, virtualHostsUnavailable, type NatsClusterHandle, type VirtualHosts } from '@mnist/testing';
import { TrainerEnv } from '../src/config.js';
import { startTestCluster, type TestCluster } from './harness.js';

/**
 * A 3-node JetStream cluster with each node on a host of its own (network namespaces): one
 * node's link cut is a partition (it sees neither its peers nor any client), not a crash.
 * Needs root, as CI runs; skipped elsewhere with the reason.
 */
const JOB = { model: 'mlp', trainLimit: 1024, testLimit: 128, batchSize: 64, epochs: 8, seed: 5 } as const;
const ALL_EPOCHS = Array.from({ length: JOB.epochs }, (_, i) => i + 1);
const STREAMS = [`KV_${NATS_NAMES.jobsBucket}`, NATS_NAMES.eventsStream, NATS_NAMES.tasksStream];

const unavailable = virtualHostsUnavailable();
if (unavailable) console.warn(`partition test skipped: ${unavailable}`);

/** A node's own view of a stream's last sequence, from its monitoring endpoint (each replica reports its own). */
async function lastSeqs(monitorUrl: string): Promise<Record<string, number>> {
  const res = await fetch(`${monitorUrl}/jsz?accounts=true&streams=true`, { signal: AbortSignal.timeout(2_000) });
  const jsz = (await res.json()) as {
    account_details?: { stream_detail?: { name: string; state: { last_seq: number } }[] }[];
  };
  const out: Record<string, number> = {};
  for (const a of jsz.account_details ?? []) for (const s of a.stream_detail ?? []) out[s.name] = s.state.last_seq;
  return out;
}

describe.skipIf(unavailable !== undefined)('a NATS node partitioned in its own namespace', () => {
  let hosts: VirtualHosts;
  let cluster: TestCluster<NatsClusterHandle>;
  beforeAll(async () => {
    hosts = await createVirtualHosts({ hosts: 3 });
    // The production TTL, ack wait and round timeouts (the trainer's own defaults): a client on
    // the cut node must move before they expire. One clean-clone run ended in attempt 2 with the
    // tests' 20 s slow-round timeout, likely a peer that gave up on a rank 0 held by the cut
    // (move, election, retried writes).
    const production = TrainerEnv.parse({});
    const env = Object.fromEntries(
      (['TRAINER_TTL_MS', 'TASK_ACK_WAIT_MS', 'COLLECTIVE_TIMEOUT_MS', 'COLLECTIVE_SLOW_TIMEOUT_MS'] as const).map(
        (k) => [k, String(production[k])],
      ),
    );
    cluster = await startTestCluster({ trainers: 2, natsNodes: 3, natsHosts: hosts, env });
  });
  afterAll(async () => {
    await cluster?.stop();
    await hosts?.stop();
  });

  it('the jobs leader cut off mid-job: the job goes on in the same attempt; back, the node catches up', async () => {
    const job = await cluster.submit({ ...JOB, replicas: 2 });
    const running = await cluster.waitForJob(job.id, (r) => r.state === 'running' && r.epoch >= 1, 60_000);
    const jsm = await jetstreamManager(cluster.nc);
    const leader = (await jsm.streams.info(STREAMS[0]!)).cluster!.leader!;
    const index = cluster.nats.nodes.findIndex((n) => n.name === leader);
    const node = cluster.nats.nodes[index]!;
    const before = await lastSeqs(node.monitorUrl);
    hosts.setLink(index, false);
    try {
      // The other two elect a leader and the job records epochs through it while the node is away.
      await cluster.waitForJob(job.id, (r) => r.epoch >= running.epoch + 2, 60_000);
    } finally {
      hosts.setLink(index, true);
    }
    const final = await cluster.waitForFinal(job.id, 90_000);
    expect(final.state, final.message).toBe('succeeded');
    expect(final.attempt).toBe(1);
    expect(await cluster.epochsInMetrics(job.id)).toEqual(ALL_EPOCHS);

    // Rejoined: the node that was cut off holds what the others wrote meanwhile.
    await expect
      .poll(
        async () => {
          const [mine, ...others] = await Promise.all(cluster.nats.nodes.map((n) => lastSeqs(n.monitorUrl)));
          return STREAMS.every((s) => (mine![s] ?? -1) > 0 && others.every((o) => o[s] === mine![s]));
        },
        { timeout: 30_000, interval: 500 },
      )
      .toBe(true);
    const after = await lastSeqs(node.monitorUrl);
    for (const stream of [STREAMS[0]!, STREAMS[1]!]) expect(after[stream], stream).toBeGreaterThan(before[stream]!);
  });
});
