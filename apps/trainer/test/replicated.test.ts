import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { NATS_NAMES, type JobEvent } from '@mnist/protocol';
import type { NatsClusterHandle } from '@mnist/testing';
import { startTestCluster, type TestCluster } from './harness.js';

/**
 * The control plane on a 3-node JetStream cluster (NATS_REPLICAS=3): any one nats-server
 * may die mid-job. Small jobs: the kill lands after epoch 1, the rest takes a few seconds.
 */
const JOB = { model: 'mlp', trainLimit: 1024, testLimit: 128, batchSize: 64, epochs: 6 } as const;
const ALL_EPOCHS = Array.from({ length: JOB.epochs }, (_, i) => i + 1);

let cluster: TestCluster<NatsClusterHandle>;
beforeAll(async () => {
  cluster = await startTestCluster({ trainers: 2, natsNodes: 3 });
});
afterAll(async () => {
  await cluster?.stop();
});

const leaderOf = async (stream: string) =>
  (await (await jetstreamManager(cluster.nc)).streams.info(stream)).cluster!.leader!;

/**
 * Every event of the job, in stream order (the stream is replicated: none may be missing).
 * Read while one node is still down: making the reader's consumer can time out while the
 * test's own connection moves to another node, so that is tried again, as an SSE client would.
 */
async function eventsOf(jobId: string): Promise<JobEvent[]> {
  for (let tries = 1; ; tries++) {
    try {
      const out: JobEvent[] = [];
      for await (const { event } of cluster.client.events.follow(jobId, {
        untilFinal: true,
        signal: AbortSignal.timeout(10_000),
      }))
        out.push(event);
      return out;
    } catch (err) {
      if (tries === 5) throw err;
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }
}

/** Runs a job, kills the node `pick` names once epoch 1 is recorded, and checks nothing was lost. */
async function survives(pick: () => Promise<string>, replicas: number, seed: number) {
  const job = await cluster.submit({ ...JOB, replicas, seed });
  const running = await cluster.waitForJob(job.id, (r) => r.state === 'running' && r.epoch >= 1, 60_000);
  expect(running.epoch).toBeLessThan(JOB.epochs);
  const victim = cluster.nats.node(await pick());
  await victim.kill();
  const killedAt = Date.now();
  try {
    // Recovery: the next record write (an epoch done) after the kill, through a new leader if need be.
    await cluster.waitForJob(job.id, (r) => r.epoch > running.epoch, 60_000);
    const after = Date.now() - killedAt;
    console.info(`nats node ${victim.name} killed at epoch ${running.epoch}: next epoch recorded after ${after} ms`);
    const final = await cluster.waitForFinal(job.id, 90_000);
    expect(final.state, final.message).toBe('succeeded');
    expect(final.attempt).toBe(1);
    expect(final.epoch).toBe(JOB.epochs);
    expect(await cluster.epochsInMetrics(job.id)).toEqual(ALL_EPOCHS);
    const events = await eventsOf(job.id);
    expect(events.filter((e) => e.type === 'epoch').map((e) => e.type === 'epoch' && e.record.epoch)).toEqual(
      ALL_EPOCHS,
    );
    expect(events.filter((e) => e.type === 'status').map((e) => e.type === 'status' && e.state)).toEqual([
      'queued',
      'running',
      'succeeded',
    ]);
  } finally {
    await victim.start();
    await cluster.nats.waitForHealthy();
  }
}

describe('a 3-node JetStream cluster under the control plane', () => {
  it('every stream and bucket has 3 replicas', async () => {
    const jsm = await jetstreamManager(cluster.nc);
    for (const name of [
      `KV_${NATS_NAMES.jobsBucket}`,
      `KV_${NATS_NAMES.trainersBucket}`,
      NATS_NAMES.tasksStream,
      NATS_NAMES.eventsStream,
    ]) {
      expect((await jsm.streams.info(name)).config.num_replicas, name).toBe(3);
    }
  });

  it('SIGKILL of the jobs bucket leader mid-job: the job succeeds in the same attempt, no event or record lost', () =>
    survives(() => leaderOf(`KV_${NATS_NAMES.jobsBucket}`), 2, 1));

  it('SIGKILL of a node that leads neither records nor events: the same', () =>
    survives(
      async () => {
        const [jobs, events] = [await leaderOf(`KV_${NATS_NAMES.jobsBucket}`), await leaderOf(NATS_NAMES.eventsStream)];
        const free =
          cluster.nats.nodes.find((n) => n.name !== jobs && n.name !== events) ??
          cluster.nats.nodes.find((n) => n.name !== jobs)!;
        return free.name;
      },
      1,
      2,
    ));
});
