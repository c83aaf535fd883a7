import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { startTestCluster, type TestCluster } from './harness.js';

/** Broker consumers must not grow with the number of jobs run (issue 24, finding 2). */
const TINY = { model: 'mlp', epochs: 1, trainLimit: 128, testLimit: 64, batchSize: 64, replicas: 1 } as const;
const JOBS = 6;

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startTestCluster({ trainers: 1 });
});
afterAll(async () => {
  await cluster?.stop();
});

/** Consumers on every stream of the broker (KV buckets are streams too). */
async function consumerCount(): Promise<number> {
  const jsm = await jetstreamManager(cluster.nc);
  let n = 0;
  for await (const s of jsm.streams.list()) n += s.state.consumer_count;
  return n;
}

describe('broker consumers over many jobs', () => {
  it(`after ${JOBS} jobs end, the consumers are back to where they were before`, async () => {
    await cluster.waitForIdleTrainers(1);
    const before = await consumerCount();
    const jobs = await Promise.all(Array.from({ length: JOBS }, (_, i) => cluster.submit({ ...TINY, seed: i + 1 })));
    for (const j of jobs) expect((await cluster.waitForFinal(j.id)).state).toBe('succeeded');
    await cluster.waitForIdleTrainers(1);
    // The test's own watches (waitForJob) are gone too: it deletes them the same way.
    expect(await consumerCount()).toBeLessThanOrEqual(before + 1);
  });
});
