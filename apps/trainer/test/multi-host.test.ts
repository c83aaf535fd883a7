import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVirtualHosts, virtualHostsUnavailable, type VirtualHosts } from '@mnist/testing';
import { selectBackend } from '@mnist/backends';
import { startTestCluster, type TestCluster } from './harness.js';
import { loadCheckpointModel, maxWeightDiff } from './model-check.js';

// Trainers on separate "hosts": each in its own network namespace behind a 100 Mbit/s
// link to a bridge, where nats-server and the S3 server listen. Every gradient crosses
// two real interfaces and their rate limits.
const unavailable = virtualHostsUnavailable();
if (unavailable) console.warn(`multi-host test skipped: ${unavailable}`);

const SPEC = { model: 'lenet5', trainLimit: 768, testLimit: 256, batchSize: 64, epochs: 2, seed: 7 } as const;
const GRADIENT_BYTES = 61_706 * 4;

describe.skipIf(unavailable !== undefined)('trainers on separate hosts (network namespaces, 100 Mbit/s links)', () => {
  let hosts: VirtualHosts;
  let cluster: TestCluster;
  beforeAll(async () => {
    await selectBackend('auto');
    hosts = await createVirtualHosts({ hosts: 2, rate: '100mbit' });
    cluster = await startTestCluster({ trainers: 2, hosts });
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
    await hosts?.stop();
  });

  it('a 2-replica step-sync job succeeds across hosts, gradients on direct TCP; matches a single trainer', async () => {
    const before = [0, 1].map((i) => hosts.linkBytes(i));
    const two = await cluster.submit({ ...SPEC, replicas: 2 });
    const twoFinal = await cluster.waitForFinal(two.id, 240_000);
    expect(twoFinal.state, twoFinal.message).toBe('succeeded');
    const after = [0, 1].map((i) => hosts.linkBytes(i));
    // The gradients went host to host over TCP, between the namespaces' own addresses.
    const ready = cluster.logs((l) => l.event === 'data_plane.ready' && l.jobId === two.id);
    expect(ready.map((l) => l.transport)).toEqual(['tcp', 'tcp']);
    // Each step every rank sends its gradient out through its link and gets the other's in.
    const steps = SPEC.epochs * Math.ceil(SPEC.trainLimit / SPEC.batchSize);
    for (const i of [0, 1]) {
      expect(after[i]!.out - before[i]!.out).toBeGreaterThan(steps * GRADIENT_BYTES);
      expect(after[i]!.in - before[i]!.in).toBeGreaterThan(steps * GRADIENT_BYTES);
    }

    const one = await cluster.submit({ ...SPEC, replicas: 1 });
    expect((await cluster.waitForFinal(one.id, 240_000)).state).toBe('succeeded');
    const [m1, m2] = await Promise.all(
      [one.id, two.id].map((id) => loadCheckpointModel(cluster.jobStore(id), SPEC.epochs)),
    );
    // Same bound as on one host (cluster.test.ts): the network changes nothing in the sum.
    expect(maxWeightDiff(m1!, m2!)).toBeLessThan(2e-5);
    m1!.dispose();
    m2!.dispose();
  }, 300_000);
});
