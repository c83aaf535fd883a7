import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from './harness.js';

// Each fault strikes once epoch 1 is recorded; the other 19 epochs (seconds of work even
// on a fast backend) leave ample margin for the test to act before the job could finish.
// Small epochs keep the whole suite short on a 2-core machine.
const JOB = { model: 'mlp', trainLimit: 4096, testLimit: 256, batchSize: 64, epochs: 20, seed: 3 } as const;
const ALL_EPOCHS = Array.from({ length: JOB.epochs }, (_, i) => i + 1);

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startTestCluster({ trainers: 4 });
});
afterAll(async () => {
  await cluster?.stop();
});

/** Waits until the job is running with at least one epoch (and so one checkpoint) done. */
const midJob = (id: string) => cluster.waitForJob(id, (r) => r.state === 'running' && r.epoch >= 1, 60_000);

const resumedRanks = (jobId: string) =>
  cluster.logs((l) => l.event === 'rank.started' && l.jobId === jobId && (l.attempt as number) >= 2).map((l) => l.startEpoch as number);

describe('faults', () => {
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
    expect(resumedRanks(job.id).length).toBeGreaterThan(0);
    expect(Math.min(...resumedRanks(job.id))).toBeGreaterThanOrEqual(2); // resumed, not restarted
    expect(cluster.logs((l) => l.event === 'task.redelivered' && l.jobId === job.id).length).toBeGreaterThan(0);
  });

  it('SIGKILL of a peer: the coordinator notices in the all-reduce and puts the job back', async () => {
    const job = await cluster.submit({ ...JOB, replicas: 2 });
    const running = await midJob(job.id);
    const victim = cluster.trainers.get(running.trainers[1]!)!;
    victim.child.kill('SIGKILL');

    const final = await cluster.waitForFinal(job.id, 120_000);
    expect(final.state, final.message).toBe('succeeded');
    expect(final.trainers).not.toContain(victim.id);
    expect(await cluster.epochsInMetrics(job.id)).toEqual(ALL_EPOCHS);
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
    expect(cluster.logs((l) => l.event === 'nats.reconnected').length).toBeGreaterThanOrEqual(2);
  });

  it('SIGTERM drains: the trainer hands its job back and exits 0; another finishes it', async () => {
    const job = await cluster.submit({ ...JOB, replicas: 1 });
    const running = await midJob(job.id);
    const victim = cluster.trainers.get(running.trainers[0]!)!;
    victim.child.kill('SIGTERM');
    // Bounded by the test's timeout, not by a wall-clock assertion (the machine is shared).
    expect(await victim.exited).toBe(0);
    expect(victim.lines.find((l) => l.event === 'job.stopped' && l.jobId === job.id)).toMatchObject({ kind: 'draining' });

    const final = await cluster.waitForFinal(job.id, 120_000);
    expect(final.state, final.message).toBe('succeeded');
    expect(final.trainers).not.toContain(victim.id);
    expect(final.attempt).toBe(2);
    expect(await cluster.epochsInMetrics(job.id)).toEqual(ALL_EPOCHS);
  });

  it('S3 down for good: the job fails with the storage error as its reason', async () => {
    const job = await cluster.submit({ ...JOB, replicas: 1 });
    await midJob(job.id);
    await cluster.s3.stop();
    const final = await cluster.waitForFinal(job.id, 60_000);
    expect(final.state).toBe('failed');
    expect(final.message).toMatch(/StorageError/);
    expect(final.message).toMatch(/jobs\//);
  });
});
