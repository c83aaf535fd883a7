import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJobSpec, type JobRecord } from '@mnist/protocol';
import type { ClusterView } from './cluster-view.js';
import { jobIdForKey } from './job-ids.js';
import { Reconciler } from './reconciler.js';
import { startTestBroker, type TestBroker } from '../test/test-broker.js';

let broker: TestBroker;
let view: ClusterView;
beforeAll(async () => {
  broker = await startTestBroker();
  view = await broker.cluster.openView();
});
afterAll(async () => {
  view?.close();
  await broker?.[Symbol.asyncDispose]();
});

const one = parseJobSpec({ model: 'mlp', replicas: 1 });
const four = parseJobSpec({ model: 'mlp', replicas: 4 });

/** The view follows the bucket through a watch: wait until it shows what was just written. */
async function seen(ok: (jobs: JobRecord[]) => boolean): Promise<JobRecord[]> {
  for (let i = 0; i < 100; i++) {
    if (ok(view.jobs())) return view.jobs();
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('the view never caught up');
}
const stateOf = (id: string) => view.jobs().find((j) => j.id === id);

describe('ClusterView and Reconciler', () => {
  it('unparks jobs the fleet can take, enqueues or fails orphans, expires waits, drops old finished jobs', async () => {
    const { cluster } = broker;
    const now = new Date();
    await cluster.trainers.heartbeat({
      id: 't1',
      host: 'h',
      pid: 1,
      backend: 'cpu',
      state: 'idle',
      startedAt: now.toISOString(),
      lastSeen: now.toISOString(),
    });
    await cluster.trainers.heartbeat({
      id: 't2',
      host: 'h',
      pid: 2,
      backend: 'cpu',
      state: 'draining',
      startedAt: now.toISOString(),
      lastSeen: now.toISOString(),
    });

    const placeable = await cluster.jobs.create(one, { parked: 'needs 1 trainers, 0 live' });
    const tooBig = await cluster.jobs.create(four, { parked: 'needs 4 trainers, 0 live' });
    const keyedOrphan = await cluster.jobs.create(one, { id: await jobIdForKey('k') });
    const plainOrphan = await cluster.jobs.create(one);
    const old = await cluster.jobs.create(one, { id: await jobIdForKey('old'), now: new Date(Date.now() - 3_600_000) });
    const done = await cluster.jobs.create(one);
    await cluster.jobs.cancel(done.id);
    await seen((jobs) => jobs.length === 6 && jobs.some((j) => j.id === done.id && j.state === 'cancelled'));
    expect(view.trainers().map((t) => t.id)).toEqual(['t1', 't2']);

    const reconciler = new Reconciler(
      { view, jobs: cluster.jobs, tasks: cluster.tasks },
      { intervalMs: 1_000, orphanGraceMs: 0, maxWaitMs: 0, retentionMs: 0 },
    );
    await reconciler.pass();
    await seen(() => stateOf(placeable.id)?.state === 'queued' && stateOf(plainOrphan.id)?.state === 'failed');

    // Enough live (not draining) trainers: back on the queue, with a task.
    expect(await cluster.tasks.has(placeable.id)).toBe(true);
    // Not enough: still parked, the reason follows the live count (t2 is draining).
    expect(stateOf(tooBig.id)).toMatchObject({ state: 'parked', message: 'needs 4 trainers, 1 live' });
    expect(await cluster.tasks.has(tooBig.id)).toBe(false);
    // A keyed orphan is enqueued; one without a key (its client saw an error) fails with why.
    expect(await cluster.tasks.has(keyedOrphan.id)).toBe(true);
    expect(stateOf(plainOrphan.id)?.message).toMatch(/timed out before its task was queued/);
    // Waiting past the limit: failed with the reason. Finished and past retention: removed.
    const strict = new Reconciler(
      { view, jobs: cluster.jobs, tasks: cluster.tasks },
      { intervalMs: 1_000, orphanGraceMs: 0, maxWaitMs: 60_000, retentionMs: 1 },
    );
    await strict.pass(Date.now() + 10);
    await seen(() => stateOf(old.id)?.state === 'failed' && stateOf(done.id) === undefined);
    expect(stateOf(old.id)?.message).toMatch(/^not started after 3600 s \(limit 60 s\)/);
    expect(await cluster.jobs.get(done.id)).toBeUndefined();
    // A second pass, as a second API process would run it, changes nothing more and queues nothing twice.
    const before = JSON.stringify(view.jobEntries());
    await reconciler.pass();
    await new Promise((r) => setTimeout(r, 100));
    expect(JSON.stringify(view.jobEntries())).toBe(before);
  });
});
