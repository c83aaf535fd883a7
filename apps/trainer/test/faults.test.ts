import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFinalState } from '@mnist/protocol';
import { listCheckpoints, loadCheckpoint } from '@mnist/checkpoint';
import { selectBackend } from '@mnist/backends';
import { startTestCluster, type TestCluster } from './harness.js';
import { loadCheckpointModel, tf } from './model-check.js';
import type { S3Request } from '@mnist/testing';

// Each fault strikes once epoch 1 is recorded; the other 19 epochs (seconds of work even
// on a fast backend) leave ample margin for the test to act before the job could finish.
// Small epochs keep the whole suite short on a 2-core machine.
const JOB = { model: 'mlp', trainLimit: 4096, testLimit: 256, batchSize: 64, epochs: 20, seed: 3 } as const;
const ALL_EPOCHS = Array.from({ length: JOB.epochs }, (_, i) => i + 1);

// Order matters: the SIGKILL and SIGTERM tests each take a trainer away for good, so the
// tests that need 3 live trainers (a 2-replica group re-formed without a frozen one) come first.
let cluster: TestCluster;
beforeAll(async () => {
  await selectBackend('cpu'); // this process only loads checkpoints back
  cluster = await startTestCluster({ trainers: 4 });
});
afterAll(async () => {
  await cluster?.stop();
});

/** Waits until the job is running with at least one epoch (and so one checkpoint) done. */
const midJob = (id: string) => cluster.waitForJob(id, (r) => r.state === 'running' && r.epoch >= 1, 60_000);

const resumedRanks = (jobId: string) =>
  cluster
    .logs((l) => l.event === 'rank.started' && l.jobId === jobId && (l.attempt as number) >= 2)
    .map((l) => l.startEpoch as number);

/** Every epoch has a complete checkpoint whose model and optimizer state load back. */
async function expectCheckpointsLoad(jobId: string) {
  const store = cluster.jobStore(jobId);
  expect(await listCheckpoints(store)).toEqual(ALL_EPOCHS);
  for (const epoch of ALL_EPOCHS) {
    const ckpt = await loadCheckpoint(store, epoch);
    tf.dispose(ckpt.optimizerWeights.map((w) => w.tensor));
    (await loadCheckpointModel(store, epoch)).dispose();
  }
}

/** Keys under the job's prefix that the matching requests created, replaced or deleted. */
const keysWritten = (requests: S3Request[], jobId: string) =>
  new Set(
    requests
      .filter((r) => r.write)
      .flatMap((r) => (r.method === 'POST' ? r.deletedKeys : [r.key]))
      .filter((k) => k.startsWith(`jobs/${jobId}/`)),
  );

/** A key at the job's root (published once it is final), not in an attempt's folder. */
const isRootKey = (key: string, jobId: string) =>
  key.startsWith(`jobs/${jobId}/`) && !key.startsWith(`jobs/${jobId}/attempts/`);

describe('faults', () => {
  it('SIGSTOP rank 0 past TTL + ack wait, SIGCONT: the stale rank touches nothing the new attempt wrote', async () => {
    const job = await cluster.submit({ ...JOB, replicas: 1 });
    const prefix = `jobs/${job.id}/`;
    // Rank 0 freezes with a write in flight: its 3rd metrics.jsonl write (the empty file,
    // epoch 1, epoch 2), sent after every check it makes and delivered only when it wakes.
    let metricsWrites = 0;
    const held = await cluster.s3proxy.holdNext(
      (r) => r.method === 'PUT' && r.key.startsWith(prefix) && r.key.endsWith('metrics.jsonl') && ++metricsWrites === 3,
    );
    const stale = cluster.trainers.get(held.request.client)!;
    stale.child.kill('SIGSTOP');
    try {
      // Its heartbeat expires (TTL), the task comes back (ack wait), another trainer resumes the job.
      const taken = await cluster.waitForJob(
        job.id,
        (r) => (r.attempt >= 2 && r.epoch >= 4) || isFinalState(r.state),
        90_000,
      );
      expect(taken.trainers).not.toContain(stale.id);
    } finally {
      stale.child.kill('SIGCONT');
      held.release();
    }
    // Awake, the stale rank goes on where it was until it learns of the newer attempt.
    expect(await stale.waitFor((l) => l.event === 'job.stopped' && l.jobId === job.id, 60_000)).toMatchObject({
      kind: 'superseded',
    });

    const final = await cluster.waitForFinal(job.id, 120_000);
    expect(final.state, final.message).toBe('succeeded');
    expect(final.attempt).toBeGreaterThanOrEqual(2);
    // Who wrote what, as S3 saw it: the stale trainer's writes from the held one on, and the others'.
    const requests = cluster.s3proxy.requests;
    const staleWrites = keysWritten(
      requests.filter((r) => r.seq >= held.request.seq && r.client === stale.id),
      job.id,
    );
    const newerWrites = keysWritten(
      requests.filter((r) => r.client !== stale.id),
      job.id,
    );
    expect(staleWrites.size).toBeGreaterThan(0); // it did reach S3 after waking
    // Into its own folder only.
    expect([...staleWrites].filter((k) => !k.startsWith(`${prefix}attempts/001/`))).toEqual([]);
    expect([...staleWrites].filter((k) => newerWrites.has(k))).toEqual([]);
    expect(await cluster.epochsInMetrics(job.id)).toEqual(ALL_EPOCHS);
    await expectCheckpointsLoad(job.id);
  });

  it('SIGSTOP a peer past TTL + ack wait, SIGCONT: a new group finishes; the woken peer writes nothing', async () => {
    const job = await cluster.submit({ ...JOB, replicas: 2 });
    const running = await midJob(job.id);
    const peer = cluster.trainers.get(running.trainers[1]!)!;
    peer.child.kill('SIGSTOP');
    try {
      // The coordinator's all-reduce times out, the job goes back, a group without the frozen peer resumes it.
      await cluster.waitForJob(
        job.id,
        (r) => (r.attempt > running.attempt && r.epoch >= running.epoch + 2) || isFinalState(r.state),
        90_000,
      );
    } finally {
      peer.child.kill('SIGCONT');
    }
    await peer.waitFor(
      (l) =>
        (l.event === 'rank.stopped' || l.event === 'rank.failed') &&
        l.jobId === job.id &&
        l.attempt === running.attempt,
      60_000,
    );

    const final = await cluster.waitForFinal(job.id, 120_000);
    expect(final.state, final.message).toBe('succeeded');
    expect(final.trainers).not.toContain(peer.id);
    expect(await cluster.epochsInMetrics(job.id)).toEqual(ALL_EPOCHS);
    await expectCheckpointsLoad(job.id);
    // Peers never write to S3, before the pause or after it.
    expect([
      ...keysWritten(
        cluster.s3proxy.requests.filter((r) => r.client === peer.id),
        job.id,
      ),
    ]).toEqual([]);
  });

  it('SIGKILL during a checkpoint write: the half-written one is never read, attempt 2 resumes before it', async () => {
    const job = await cluster.submit({ ...JOB, replicas: 1 });
    // A file of epoch 3's checkpoint, written before its manifest: the kill leaves the folder incomplete.
    const dir = `jobs/${job.id}/attempts/001/checkpoints/epoch-003/`;
    const held = await cluster.s3proxy.holdNext((r) => r.write && r.key.startsWith(dir) && !r.key.endsWith('.json'));
    const victim = cluster.trainers.get(held.request.client)!;
    victim.child.kill('SIGKILL');
    await victim.exited;
    await cluster.spawn('t6');

    const final = await cluster.waitForFinal(job.id, 120_000);
    expect(final.state, final.message).toBe('succeeded');
    expect(final.attempt).toBe(2);
    expect(Math.min(...resumedRanks(job.id))).toBe(3); // from epoch 2's checkpoint, the last complete one
    expect(await cluster.epochsInMetrics(job.id)).toEqual(ALL_EPOCHS);
    await expectCheckpointsLoad(job.id);
  });

  it('SIGKILL during the final publish: the task comes back, another trainer publishes the final job', async () => {
    const job = await cluster.submit({ ...JOB, replicas: 1 });
    // The first write to the job's root keys is the publish's first copy, after the final record write.
    const held = await cluster.s3proxy.holdNext((r) => r.write && isRootKey(r.key, job.id));
    const victim = cluster.trainers.get(held.request.client)!;
    victim.child.kill('SIGKILL'); // the held write never reaches S3
    await victim.exited;
    await cluster.spawn('t5'); // the later tests count on 4 trainers

    const final = await cluster.waitForFinal(job.id, 120_000);
    expect(final.state, final.message).toBe('succeeded');
    expect(final.attempt).toBe(1); // the record was final before the kill: nothing retrained
    const publisher = cluster.logs((l) => l.event === 'job.published' && l.jobId === job.id)[0]!;
    expect(publisher.trainer).not.toBe(victim.id);
    expect(cluster.logs((l) => l.event === 'task.final' && l.jobId === job.id).length).toBeGreaterThan(0);
    expect(await cluster.epochsInMetrics(job.id)).toEqual(ALL_EPOCHS);
    await expectCheckpointsLoad(job.id);
  });

  it('S3 outage during the final publish: the task goes back, the publish completes once S3 is back', async () => {
    const job = await cluster.submit({ ...JOB, replicas: 1 });
    // Twice S3_RETRY_MS: the first publish gives up, a later one from the requeued task lands.
    await cluster.s3proxy.outageOnNext((r) => r.write && isRootKey(r.key, job.id), 6_000);
    const final = await cluster.waitForFinal(job.id, 120_000);
    expect(final.state, final.message).toBe('succeeded');
    expect(final.attempt).toBe(1);
    expect(cluster.logs((l) => l.event === 'job.publish_failed' && l.jobId === job.id).length).toBeGreaterThan(0);
    expect(await cluster.epochsInMetrics(job.id)).toEqual(ALL_EPOCHS);
    await expectCheckpointsLoad(job.id);
  });

  it('SIGKILL of the coordinator: the task comes back and a new group resumes from the checkpoint', async () => {
    const job = await cluster.submit({ ...JOB, replicas: 2 });
    const running = await midJob(job.id);
    const victim = cluster.trainers.get(running.trainers[0]!)!;
    victim.child.kill('SIGKILL');
    await victim.exited;

    const final = await cluster.waitForFinal(job.id, 120_000);
    expect(final.state, final.message).toBe('succeeded');
    expect(final.attempt).toBeGreaterThanOrEqual(2);
    expect(final.trainers).not.toContain(victim.id);
    expect(await cluster.epochsInMetrics(job.id)).toEqual(ALL_EPOCHS);
    await expectCheckpointsLoad(job.id);
    expect(resumedRanks(job.id).length).toBeGreaterThan(0);
    expect(Math.min(...resumedRanks(job.id))).toBeGreaterThanOrEqual(2); // resumed, not restarted
    expect(cluster.logs((l) => l.event === 'task.redelivered' && l.jobId === job.id).length).toBeGreaterThan(0);
  });

  it('SIGKILL of a peer: its socket closes, the coordinator fails the round at once, puts the job back', async () => {
    const job = await cluster.submit({ ...JOB, replicas: 2 });
    const running = await midJob(job.id);
    const victim = cluster.trainers.get(running.trainers[1]!)!;
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    // Over the direct connection the loss is seen at once, not after COLLECTIVE_TIMEOUT_MS.
    const requeued = await cluster.trainers
      .get(running.trainers[0]!)!
      .waitFor((l) => l.event === 'job.requeued' && l.jobId === job.id, 30_000);
    expect(String(requeued.reason)).toMatch(/lost rank 1/);
    expect(Date.parse(String(requeued.time)) - killedAt).toBeLessThan(Number(cluster.env.COLLECTIVE_TIMEOUT_MS));
    expect(
      cluster.logs((l) => l.event === 'collective.timeout' && l.jobId === job.id && l.attempt === running.attempt),
    ).toEqual([]);

    const final = await cluster.waitForFinal(job.id, 120_000);
    expect(final.state, final.message).toBe('succeeded');
    expect(final.trainers).not.toContain(victim.id);
    expect(await cluster.epochsInMetrics(job.id)).toEqual(ALL_EPOCHS);
    await expectCheckpointsLoad(job.id);
    expect(cluster.logs((l) => l.event === 'job.requeued' && l.jobId === job.id).length).toBeGreaterThan(0);
    expect(final.attempt).toBeGreaterThanOrEqual(2);
    expect(resumedRanks(job.id).length).toBeGreaterThan(0);
    expect(Math.min(...resumedRanks(job.id))).toBeGreaterThanOrEqual(2);
  });

  it('nats-server restarted mid-job: trainers reconnect and the job finishes', async () => {
    const job = await cluster.submit({ ...JOB, replicas: 2 });
    await midJob(job.id);
    await cluster.nats.restart(1_000);
    const final = await cluster.waitForFinal(job.id, 120_000);
    expect(final.state, final.message).toBe('succeeded');
    expect(await cluster.epochsInMetrics(job.id)).toEqual(ALL_EPOCHS);
    await expectCheckpointsLoad(job.id);
    expect(cluster.logs((l) => l.event === 'nats.reconnected').length).toBeGreaterThanOrEqual(2);
  });

  it('SIGTERM drains: the trainer hands its job back and exits 0; another finishes it', async () => {
    const job = await cluster.submit({ ...JOB, replicas: 1 });
    const running = await midJob(job.id);
    const victim = cluster.trainers.get(running.trainers[0]!)!;
    victim.child.kill('SIGTERM');
    // Bounded by the test's timeout, not by a wall-clock assertion (the machine is shared).
    expect(await victim.exited).toBe(0);
    expect(victim.lines.find((l) => l.event === 'job.stopped' && l.jobId === job.id)).toMatchObject({
      kind: 'draining',
    });

    const final = await cluster.waitForFinal(job.id, 120_000);
    expect(final.state, final.message).toBe('succeeded');
    expect(final.trainers).not.toContain(victim.id);
    expect(final.attempt).toBe(2);
    expect(await cluster.epochsInMetrics(job.id)).toEqual(ALL_EPOCHS);
    await expectCheckpointsLoad(job.id);
  });

  it('S3 outage shorter than the retry window: rank 0 retries and the attempt goes on', async () => {
    const job = await cluster.submit({ ...JOB, replicas: 1 });
    await midJob(job.id);
    // From rank 0's next write on, every connection is reset for 1 s (S3_RETRY_MS is 3 s).
    const hit = await cluster.s3proxy.outageOnNext((r) => r.write && r.key.startsWith(`jobs/${job.id}/`), 1_000);
    const final = await cluster.waitForFinal(job.id, 120_000);
    expect(final.state, final.message).toBe('succeeded');
    expect(final.attempt).toBe(1);
    expect(await cluster.epochsInMetrics(job.id)).toEqual(ALL_EPOCHS);
    await expectCheckpointsLoad(job.id);
    expect(
      cluster.logs((l) => l.event === 'retry' && l.trainer === hit.client && String(l.what).startsWith('s3 ')).length,
    ).toBeGreaterThan(0);
  });

  it('S3 outage longer than the retry window: the job fails with the storage error as its reason', async () => {
    const job = await cluster.submit({ ...JOB, replicas: 1 });
    await midJob(job.id);
    await cluster.s3proxy.outageOnNext((r) => r.write && r.key.startsWith(`jobs/${job.id}/`), Infinity);
    try {
      const final = await cluster.waitForFinal(job.id, 60_000);
      expect(final.state).toBe('failed');
      expect(final.message).toMatch(/StorageError/);
      expect(final.message).toMatch(/jobs\//);
    } finally {
      cluster.s3proxy.up();
    }
  });
});
