import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_ARTIFACTS, FinalEvalSchema, type JobEvent, type JobRecord, type JobSpecInput } from '@mnist/protocol';
import { getText } from '@mnist/storage';
import { startTestCluster, type TestCluster } from './harness.js';

// Elastic jobs (a replica range) on real trainer processes. Small epochs keep it short on
// 2 cores; the step sync keeps the trajectory one trainer's, so the accuracy is compared
// with an undisturbed 1-replica job of the same seed.
const JOB = { model: 'mlp', trainLimit: 4096, testLimit: 512, batchSize: 64, epochs: 12, seed: 5 } as const;
const ALL_EPOCHS = Array.from({ length: JOB.epochs }, (_, i) => i + 1);

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startTestCluster({ trainers: 1 });
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
});

const finalAcc = async (id: string) =>
  FinalEvalSchema.parse(JSON.parse((await getText(cluster.jobStore(id), CLUSTER_ARTIFACTS.finalEval))!)).testAcc;

const regrouped = (jobId: string) => cluster.logs((l) => l.event === 'elastic.regrouped' && l.jobId === jobId);

/** A finished job's resize events, in order. */
async function resizes(jobId: string) {
  const out: Extract<JobEvent, { type: 'resize' }>[] = [];
  for await (const { event } of cluster.client.events.follow(jobId, { untilFinal: true }))
    if (event.type === 'resize') out.push(event);
  return out;
}

/** The job ends succeeded in `attempt`, with each of `epochs` once in metrics.jsonl. */
async function expectSucceeded(id: string, attempt: number, epochs = ALL_EPOCHS, timeoutMs = 120_000) {
  const final = await cluster.waitForFinal(id, timeoutMs);
  expect(final.state, final.message).toBe('succeeded');
  expect(final.attempt).toBe(attempt);
  expect(await cluster.epochsInMetrics(id)).toEqual(epochs);
  return final;
}

/** A 1:2 job on both of two idle trainers, past its first epoch. */
async function runningOnTwo(spec: Partial<JobSpecInput> = {}) {
  await cluster.waitForIdleTrainers(2);
  const job = await cluster.submit({ ...JOB, minReplicas: 1, replicas: 2, ...spec });
  const running = await cluster.waitForJob(job.id, (r) => r.state === 'running' && r.epoch >= 1, 60_000);
  expect(running.trainers).toHaveLength(2);
  return { job, running };
}

/** Waits for the group `group` of attempt 1 with `size` ranks. */
const groupOf = (id: string, group: number, size: number) =>
  cluster.waitForJob(id, (r: JobRecord) => r.attempt === 1 && r.group >= group && r.trainers.length === size, 90_000);

describe('elastic jobs', () => {
  let referenceAcc: number;

  it('reference: the same job on one trainer', async () => {
    const ref = await cluster.submit({ ...JOB, replicas: 1 });
    expect((await cluster.waitForFinal(ref.id, 120_000)).state).toBe('succeeded');
    referenceAcc = await finalAcc(ref.id);
  }, 150_000);

  it('1:2 grows onto a trainer started mid-job, then goes on alone in attempt 1 when it is SIGKILLed', async () => {
    // Rank 0 waits at its first metrics write (the empty file) until the second trainer is
    // up, so the job starts on one rank and grows at the end of epoch 1.
    const job = await cluster.submit({ ...JOB, minReplicas: 1, replicas: 2 });
    const held = await cluster.s3proxy.holdNext(
      (r) => r.method === 'PUT' && r.key.startsWith(`jobs/${job.id}/attempts/001/`) && r.key.endsWith('metrics.jsonl'),
    );
    await cluster.spawn('t2');
    held.release();
    const grown = await groupOf(job.id, 1, 2);
    expect(grown.trainers).toEqual(['t1', 't2']);
    // The grown group moves gradients over direct TCP (rank 0 of a group of one has its endpoint too).
    const ready = await cluster.trainers.get('t2')!.waitFor((l) => l.event === 'data_plane.ready', 30_000);
    expect(ready.transport).toBe('tcp');

    // Mid-epoch: a few steps after the group formed, the newcomer dies.
    await cluster.trainers.get('t2')!.waitFor((l) => l.event === 'elastic.regrouped' && l.jobId === job.id, 30_000);
    await new Promise((r) => setTimeout(r, 300));
    cluster.trainers.get('t2')!.child.kill('SIGKILL');
    const shrunk = await groupOf(job.id, 2, 1);
    expect(shrunk.trainers).toEqual(['t1']);

    await expectSucceeded(job.id, 1); // no new attempt, no checkpoint reloaded
    expect(Math.abs((await finalAcc(job.id)) - referenceAcc)).toBeLessThanOrEqual(0.003);
    const events = await resizes(job.id);
    expect(events.map((e) => [e.from, e.to, e.attempt, e.group])).toEqual([
      [1, 2, 1, 1],
      [2, 1, 1, 2],
    ]);
    expect(events[0]!.why).toBe('grew onto t2');
    expect(events[0]!.epoch).toBe(2); // at the start of epoch 2: the epoch boundary after epoch 1
    expect(events[1]!.why).toMatch(/^lost a rank/);
    const changes = regrouped(job.id).filter((l) => l.trainer === 't1');
    expect(changes.map((l) => l.worldSize)).toEqual([2, 1]);
    console.log(`resize cost (ms): grow ${changes[0]!.ms}, shrink after SIGKILL ${changes[1]!.ms}`);
  }, 180_000);

  it('SIGSTOP of a rank past the timeout: the group goes on without it; woken, it writes nothing', async () => {
    await cluster.spawn('t3');
    const { job, running } = await runningOnTwo();
    const peer = cluster.trainers.get(running.trainers[1]!)!;
    peer.child.kill('SIGSTOP');
    try {
      await groupOf(job.id, 1, 1);
    } finally {
      peer.child.kill('SIGCONT');
    }
    await peer.waitFor((l) => l.event === 'rank.stopped' && l.jobId === job.id, 60_000);
    await expectSucceeded(job.id, 1);
    expect(Math.abs((await finalAcc(job.id)) - referenceAcc)).toBeLessThanOrEqual(0.003);
    const writes = cluster.s3proxy.requests.filter((r) => r.client === peer.id && r.write);
    expect(writes).toEqual([]);
  }, 180_000);

  it('sharing: a 1-replica job submitted while a 1:2 job holds both trainers starts at its next epoch', async () => {
    const { job: elastic, running } = await runningOnTwo({ epochs: 30 });
    const small = await cluster.submit({ ...JOB, epochs: 2, replicas: 1 });
    const submittedAt = (await cluster.client.jobs.get(elastic.id))!.epoch;
    const started = await cluster.waitForJob(small.id, (r) => r.state === 'running', 60_000);
    expect(started.trainers).toEqual([running.trainers[1]]);
    // The elastic job gave its second trainer back at its next epoch end (within one epoch).
    const at = (await cluster.client.jobs.get(elastic.id))!;
    expect(at.trainers).toEqual([running.trainers[0]]);
    expect(at.epoch - submittedAt).toBeLessThanOrEqual(2);
    expect((await cluster.waitForFinal(small.id, 120_000)).state).toBe('succeeded');
    await expectSucceeded(
      elastic.id,
      1,
      Array.from({ length: 30 }, (_, i) => i + 1),
      180_000,
    );
    const events = await resizes(elastic.id);
    expect(events[0]).toMatchObject({ from: 2, to: 1, why: `gave ${running.trainers[1]} back to the queue` });
  }, 300_000);

  it('SIGKILL of rank 0 (it holds the task): rank 1 takes over the group and the task in attempt 1', async () => {
    const { job, running } = await runningOnTwo();
    const [first, second] = running.trainers as [string, string];
    const coordinator = cluster.trainers.get(first)!;
    await new Promise((r) => setTimeout(r, 300)); // mid-epoch
    coordinator.child.kill('SIGKILL');
    await coordinator.exited;
    expect((await groupOf(job.id, 1, 1)).trainers).toEqual([second]);
    await expectSucceeded(job.id, 1); // no new attempt, no checkpoint reloaded, every epoch once
    expect(Math.abs((await finalAcc(job.id)) - referenceAcc)).toBeLessThanOrEqual(0.003);
    const [event] = await resizes(job.id);
    expect(event).toMatchObject({ from: 2, to: 1, members: [second] });
    expect(event!.why).toMatch(new RegExp(`^took over from ${first}`));
    // The new leader settled the task through the shared lease: acked, nothing left on the queue.
    expect(await cluster.client.tasks.has(job.id)).toBe(false);
    const took = regrouped(job.id).filter((l) => l.trainer === second && l.worldSize === 1);
    console.log(`take-over cost (ms): ${took[0]!.ms}`);
    await cluster.spawn('t4'); // the tests after this one need two trainers
  }, 180_000);

  it('SIGSTOP of rank 0 past the timeout: rank 1 takes over; woken, the old coordinator writes nothing', async () => {
    const { job, running } = await runningOnTwo();
    const [first, second] = running.trainers as [string, string];
    const coordinator = cluster.trainers.get(first)!;
    coordinator.child.kill('SIGSTOP');
    let thawedAt = Infinity;
    try {
      expect((await groupOf(job.id, 1, 1)).trainers).toEqual([second]);
    } finally {
      thawedAt = Date.now();
      coordinator.child.kill('SIGCONT');
    }
    await coordinator.waitFor((l) => l.event === 'rank.halted' || l.event === 'job.stopped', 60_000);
    await expectSucceeded(job.id, 1);
    const late = cluster.s3proxy.requests.filter((r) => r.client === first && r.write && r.at >= thawedAt);
    expect(late).toEqual([]);
    expect(await cluster.client.tasks.has(job.id)).toBe(false);
  }, 180_000);

  it('SIGTERM of a rank (a drain): the group goes on without it in the same attempt, and it exits 0', async () => {
    const { job, running } = await runningOnTwo();
    const peer = cluster.trainers.get(running.trainers[1]!)!;
    peer.child.kill('SIGTERM');
    expect(await peer.exited).toBe(0);
    expect((await expectSucceeded(job.id, 1)).trainers).toEqual([running.trainers[0]]);
  }, 180_000);

  it('local SGD: a 1:2 job grows at an epoch end (an exchange) onto a trainer started mid-job', async () => {
    await cluster.waitForIdleTrainers(1);
    const job = await cluster.submit({ ...JOB, sync: { every: 4 }, minReplicas: 1, replicas: 2 });
    const held = await cluster.s3proxy.holdNext(
      (r) => r.method === 'PUT' && r.key.startsWith(`jobs/${job.id}/attempts/001/`) && r.key.endsWith('metrics.jsonl'),
    );
    await cluster.spawn('t5');
    held.release();
    expect((await groupOf(job.id, 1, 2)).trainers).toHaveLength(2);
    await expectSucceeded(job.id, 1);
    expect((await resizes(job.id)).map((e) => [e.from, e.to, e.epoch])).toEqual([[1, 2, 2]]);
  }, 180_000);
});
