import { describe, expect, it } from 'vitest';
import { parseJobSpec, type EpochRecord, type JobRecord } from '@mnist/protocol';
import { MemoryArtifacts, MemoryCluster } from '../testing/memory-deps.js';
import { createSnapshotter } from './snapshot.js';

const rec = (epoch: number, testAcc: number): EpochRecord => ({
  epoch,
  trainLoss: 1 / epoch,
  trainAcc: testAcc - 0.01,
  testLoss: 0.5 / epoch,
  testAcc,
  seconds: 2,
  imagesPerSec: 100 * epoch,
  backend: 'cpu',
});

describe('createSnapshotter', () => {
  it("counts jobs by state, reads each recent job's last epoch; re-reads S3 only when the epoch changes", async () => {
    const cluster = new MemoryCluster();
    const artifacts = new MemoryArtifacts();
    let reads = 0;
    const get = artifacts.get.bind(artifacts);
    artifacts.get = (k) => (reads++, get(k));
    const now = Date.parse('2030-01-01T12:00:00Z');
    const take = createSnapshotter(cluster, artifacts, { now: () => now, finishedWindowMs: 60_000 });

    const running = await cluster.submit(parseJobSpec({ model: 'mlp', epochs: 3, replicas: 2, batchSize: 64 }));
    const old = await cluster.submit(parseJobSpec({ model: 'lenet5' }));
    await cluster.submit(parseJobSpec({ model: 'lenet5' }));
    const put = (id: string, patch: Partial<JobRecord>) => cluster.put({ ...cluster.records.get(id)!, ...patch });
    put(running.id, { state: 'running', attempt: 1, epoch: 1 });
    put(old.id, { state: 'succeeded', attempt: 1, epoch: 1, finishedAt: new Date(now - 120_000).toISOString() });
    // Where the running attempt writes it (attempt-scoped, see jobMetricsKeys).
    artifacts.put(`jobs/${running.id}/attempts/001/metrics.jsonl`, JSON.stringify(rec(1, 0.8)) + '\n');
    cluster.emit({
      type: 'progress',
      jobId: running.id,
      epoch: 2,
      step: 3,
      steps: 8,
      imagesPerSec: 456,
      loss: 0.3,
      at: 'x',
    });

    let s = await take();
    expect(s.jobsByState).toEqual({ queued: 1, parked: 0, running: 1, succeeded: 1, failed: 0, cancelled: 0 });
    expect(s.trainersWanted).toBe(1); // the queued job's one trainer; no trainer is idle
    expect(s.jobs.map((j) => j.id).sort()).not.toContain(old.id); // finished outside the window
    const r = s.jobs.find((j) => j.id === running.id)!;
    expect(r).toMatchObject({
      model: 'mlp',
      state: 'running',
      replicas: 2,
      epoch: 1,
      epochs: 3,
      last: rec(1, 0.8),
      liveImagesPerSec: 456,
    });
    expect(reads).toBe(1);
    await take();
    expect(reads).toBe(1); // same epoch: cached

    artifacts.put(
      `jobs/${running.id}/attempts/001/metrics.jsonl`,
      [rec(1, 0.8), rec(2, 0.9)].map((x) => JSON.stringify(x) + '\n').join(''),
    );
    put(running.id, { epoch: 2 });
    s = await take();
    expect(reads).toBe(2);
    expect(s.jobs.find((j) => j.id === running.id)!.last).toEqual(rec(2, 0.9));
    expect(s.errors).toBe(0);

    artifacts.put(`jobs/${running.id}/attempts/001/metrics.jsonl`, 'garbage\n');
    put(running.id, { epoch: 3 });
    s = await take();
    expect(s.errors).toBe(1);
    expect(s.jobs.find((j) => j.id === running.id)!.last).toBeUndefined();
  });

  it('counts, per running job, the trainers its record names that have no heartbeat', async () => {
    const cluster = new MemoryCluster();
    const take = createSnapshotter(cluster, new MemoryArtifacts());
    const job = await cluster.submit(parseJobSpec({ model: 'mlp', replicas: 2, batchSize: 64 }));
    const queued = await cluster.submit(parseJobSpec({ model: 'mlp' }));
    cluster.put({ ...cluster.records.get(job.id)!, state: 'running', attempt: 1, trainers: ['t1', 't2'] });
    cluster.put({ ...cluster.records.get(queued.id)!, trainers: ['t9'] });
    const info = { host: 'h', pid: 1, backend: 'cpu', startedAt: 'x', lastSeen: 'y' };
    cluster.trainerList = [{ ...info, id: 't1', state: 'busy', jobId: job.id, rank: 0 }];
    let s = await take();
    expect(s.jobs.find((j) => j.id === job.id)!.lostTrainers).toBe(1);
    expect(s.jobs.find((j) => j.id === queued.id)!.lostTrainers).toBeUndefined(); // only running jobs hold trainers
    cluster.trainerList = [...cluster.trainerList, { ...info, id: 't2', state: 'busy', jobId: job.id, rank: 1 }];
    s = await take();
    expect(s.jobs.find((j) => j.id === job.id)!.lostTrainers).toBe(0);
  });
});
