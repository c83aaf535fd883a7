import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { claim, NATS_NAMES, ownedBy, parseJobSpec, recordEpoch, succeed, unpark, type JobEvent } from '@mnist/protocol';
import { JobExistsError, JobFinishedError, JobNotFoundError } from '@mnist/core';
import { startTestBroker, type TestBroker } from '../test/test-broker.js';

const spec = parseJobSpec({ model: 'mlp', epochs: 1 });
let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker();
});
afterAll(async () => {
  await broker?.[Symbol.asyncDispose]();
});

const statusEvents = async (jobId: string, count: number): Promise<JobEvent[]> => {
  const out: JobEvent[] = [];
  for await (const { event } of broker.cluster.events.follow(jobId, { signal: AbortSignal.timeout(5000) })) {
    out.push(event);
    if (out.length === count) break;
  }
  return out;
};

describe('JobStore', () => {
  it('creates queued records, refuses a taken id, lists newest first', async () => {
    const { jobs } = broker.cluster;
    const a = await jobs.create(spec, { id: 'job-a', now: new Date('2030-01-01T00:00:00Z') });
    const b = await jobs.create(spec, { id: 'job-b', now: new Date('2030-01-02T00:00:00Z') });
    expect(a).toMatchObject({ id: 'job-a', state: 'queued', attempt: 0, trainers: [], epoch: 0 });
    await expect(jobs.create(spec, { id: 'job-a' })).rejects.toBeInstanceOf(JobExistsError);
    expect((await jobs.get('job-b'))?.createdAt).toBe(b.createdAt);
    expect(await jobs.get('nope')).toBeUndefined();
    const ids = (await jobs.list()).map((r) => r.id);
    expect(ids.indexOf('job-b')).toBeLessThan(ids.indexOf('job-a'));
  });

  it('compare-and-set: concurrent transitions all apply, none is lost', async () => {
    const { jobs } = broker.cluster;
    await jobs.create(spec, { id: 'job-cas' });
    // 8 unguarded claims each add 1 to the attempt; a lost update would leave fewer than 8.
    const take = claim({ trainers: ['t'], backend: 'cpu', epoch: 0 });
    await Promise.all(Array.from({ length: 8 }, () => jobs.transition('job-cas', take)));
    expect((await jobs.get('job-cas'))?.attempt).toBe(8);
    const untouched = await jobs.transition('job-cas', succeed(ownedBy(3)));
    expect(untouched.changed).toBe(false);
    await expect(jobs.transition('missing', unpark())).rejects.toBeInstanceOf(JobNotFoundError);
  });

  it('a cancel cannot be overwritten by a trainer that decided on the old revision', async () => {
    const { jobs } = broker.cluster;
    await jobs.create(spec, { id: 'job-race' });
    await jobs.transition('job-race', claim({ trainers: ['t'], backend: 'cpu', epoch: 0 }));
    const stale = await jobs.getEntry('job-race');
    await jobs.cancel('job-race');
    // The trainer's decision is re-made on the fresh record: it only succeeds a running job.
    const result = await jobs.transition('job-race', succeed(ownedBy(1)));
    expect(stale?.record.state).toBe('running');
    expect(result.changed).toBe(false);
    expect((await jobs.get('job-race'))?.state).toBe('cancelled');
    await expect(jobs.cancel('job-race')).rejects.toBeInstanceOf(JobFinishedError);
  });

  it('publishes a status event for each change of state', async () => {
    const { jobs } = broker.cluster;
    await jobs.create(spec, { id: 'job-ev' });
    await jobs.transition('job-ev', claim({ trainers: ['t'], backend: 'cpu', epoch: 0 }));
    await jobs.transition('job-ev', recordEpoch({ epoch: 1, backend: 'cpu' })); // no status change: no event
    await jobs.cancel('job-ev', 'stop');
    const events = await statusEvents('job-ev', 3);
    expect(events.map((e) => (e.type === 'status' ? `${e.state}/${e.attempt}` : e.type))).toEqual([
      'queued/0',
      'running/1',
      'cancelled/1',
    ]);
    expect(events[2]).toMatchObject({ message: 'stop' });
  });

  it('watch delivers the current value first, then changes, and stops on abort', async () => {
    const { jobs } = broker.cluster;
    await jobs.create(spec, { id: 'job-w' });
    const ac = new AbortController();
    const seen: string[] = [];
    const done = (async () => {
      for await (const r of jobs.watch({ id: 'job-w', signal: ac.signal })) {
        seen.push(r.state);
        if (r.state === 'cancelled') ac.abort();
      }
    })();
    await jobs.transition('job-w', claim({ trainers: ['t'], backend: 'cpu', epoch: 0 }));
    await jobs.cancel('job-w');
    await done;
    expect(seen).toEqual(['queued', 'running', 'cancelled']);
  });

  it('a watch that ends leaves no consumer on the server (one per job run used to stay 5 minutes)', async () => {
    const { jobs } = broker.cluster;
    const jsm = await jetstreamManager(broker.nc);
    const consumers = async () => (await jsm.streams.info(`KV_${NATS_NAMES.jobsBucket}`)).state.consumer_count;
    const before = await consumers();
    for (let i = 0; i < 10; i++) {
      const id = `job-watch-${i}`;
      await jobs.create(spec, { id });
      const ac = new AbortController();
      for await (const r of jobs.watch({ id, signal: ac.signal })) if (r.state === 'queued') ac.abort();
      // A watch left early by `break` (a rank that stops) ends the same way.
      for await (const r of jobs.watch({ id })) if (r.state === 'queued') break;
      // Listing (keys, then a get each) too: a coordinator lists the trainers once per job run.
      expect((await jobs.list()).map((r) => r.id)).toContain(id);
      await broker.cluster.trainers.list();
    }
    expect(await consumers()).toBe(before);
    expect((await jsm.streams.info(`KV_${NATS_NAMES.trainersBucket}`)).state.consumer_count).toBe(0);
  });
});
