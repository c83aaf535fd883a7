import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { NATS_NAMES, type JobRecord } from '@mnist/protocol';
import { waitForHealthy } from '@mnist/dev-cluster';
import { spawnApi, startTestCluster, type TestCluster } from './harness.js';

/**
 * The job lifecycle under faults (issue 10), with real processes and signals: a frozen
 * broker during submit, a pile of jobs the fleet cannot place, and reads that must not
 * leave consumers behind on the broker.
 */

/** A job that one trainer finishes in a few seconds. */
const TINY = { model: 'mlp', epochs: 1, trainLimit: 256, testLimit: 128, replicas: 1, seed: 1 } as const;
/** A job no 1-trainer cluster can place. */
const HUGE = { ...TINY, replicas: 64, batchSize: 64 } as const;

let cluster: TestCluster;
let base: string;
let nc: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  cluster = await startTestCluster({
    trainers: 1,
    env: { SSE_KEEPALIVE_MS: '1000', RECONCILE_INTERVAL_MS: '500', ORPHAN_GRACE_MS: '2000' },
  });
  base = cluster.apis[0]!.url;
  nc = await connect({ servers: cluster.nats.url });
  jsm = await jetstreamManager(nc);
});
afterAll(async () => {
  await nc?.close();
  await cluster?.stop();
});

async function call<T>(path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(base + path, init);
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

const submit = (spec: object, key?: string) =>
  call<JobRecord>('/v1/jobs', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(key && { 'Idempotency-Key': key }) },
    body: JSON.stringify(spec),
  });

const job = async (id: string) => (await call<JobRecord>(`/v1/jobs/${id}`)).body;

/** Polls until `ok` holds for the job, or the time is up; returns the last record seen. */
async function waitForJob(id: string, ok: (r: JobRecord) => boolean, ms: number): Promise<JobRecord> {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = await job(id);
    if (ok(r) || Date.now() > deadline) return r;
    await new Promise((res) => setTimeout(res, 100));
  }
}

/** Consumers on every stream of the test's own nats-server (KV buckets are streams too). */
async function consumerCount(): Promise<number> {
  let n = 0;
  for await (const s of jsm.streams.list()) n += s.state.consumer_count;
  return n;
}

describe('the job lifecycle under faults', () => {
  it('reads (lists, trainers, metrics, event streams) leave no consumers behind on the broker', async () => {
    const done = await submit(TINY);
    expect(done.status).toBe(201);
    expect((await waitForJob(done.body.id, (r) => r.state === 'succeeded', 60_000)).state).toBe('succeeded');
    // Let the API's own watches settle, then count.
    await new Promise((res) => setTimeout(res, 500));
    const before = await consumerCount();
    for (let i = 0; i < 20; i++) {
      expect((await call('/v1/jobs')).status).toBe(200);
      expect((await call('/v1/trainers')).status).toBe(200);
      expect((await fetch(`${base}/metrics`).then((r) => r.text())).length).toBeGreaterThan(0);
    }
    // Event streams that the client leaves early (a closed dashboard tab).
    for (let i = 0; i < 5; i++) {
      const ac = new AbortController();
      const res = await fetch(`${base}/v1/jobs/${done.body.id}/events`, { signal: ac.signal });
      expect(res.status).toBe(200);
      await res.body!.getReader().read();
      ac.abort();
    }
    await new Promise((res) => setTimeout(res, 1_000));
    const after = await consumerCount();
    expect(after - before).toBeLessThanOrEqual(2);
  });

  it('200 HEADs of an event stream leave no follow or consumer behind', async () => {
    const parked = await submit({ ...HUGE, seed: 7 }); // never ends: a HEAD that followed would stay
    expect(parked.status).toBe(201);
    await new Promise((res) => setTimeout(res, 500));
    const before = await consumerCount();
    for (let i = 0; i < 200; i++) {
      const res = await fetch(`${base}/v1/jobs/${parked.body.id}/events`, { method: 'HEAD' });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/event-stream');
    }
    await new Promise((res) => setTimeout(res, 1_000));
    expect((await consumerCount()) - before).toBeLessThanOrEqual(2);
    expect((await call(`/v1/jobs/${parked.body.id}/cancel`, { method: 'POST' })).status).toBe(200);
  });

  it('a broker frozen for 8 s during submit leaves no orphan, and a retry with the same key no duplicate', async () => {
    const keyed = { ...TINY, seed: 11 };
    const unkeyed = { ...TINY, seed: 12 };
    cluster.nats.signal('SIGSTOP');
    let first: Promise<{ status: number }>;
    let abandoned: Promise<{ status: number }>;
    try {
      first = submit(keyed, 'lifecycle-retried-1');
      // A client without a key that gives up after its 503: its write still lands late.
      abandoned = submit(unkeyed);
      await new Promise((res) => setTimeout(res, 8_000));
    } finally {
      cluster.nats.signal('SIGCONT');
    }
    // The API timed out on the frozen broker.
    expect([(await first).status, (await abandoned).status]).toEqual([503, 503]);
    const again = await submit(keyed, 'lifecycle-retried-1');
    expect(again.status).toBe(201);
    const third = await submit(keyed, 'lifecycle-retried-1');
    expect(third.body.id).toBe(again.body.id);
    // The same key with another spec names another job: refused, not silently merged.
    expect((await submit({ ...keyed, epochs: 2 }, 'lifecycle-retried-1')).status).toBe(409);

    const all = (await call<{ jobs: JobRecord[] }>('/v1/jobs?limit=1000')).body.jobs;
    expect(all.filter((j) => j.spec.seed === 11).map((j) => j.id)).toEqual([again.body.id]);
    expect((await waitForJob(again.body.id, (r) => r.state === 'succeeded', 60_000)).state).toBe('succeeded');
    // No orphan: whatever the abandoned submit left behind leaves 'queued' (the reconciler
    // fails a never-run job that has no task and no key, with a reason).
    const orphans = all.filter((j) => j.spec.seed === 12);
    expect(orphans.length).toBeLessThanOrEqual(1);
    for (const j of orphans) {
      const end = await waitForJob(j.id, (r) => r.state !== 'queued', 30_000);
      expect(end.state, `${j.id}: ${end.message}`).not.toBe('queued');
    }
  });

  it("an API killed between a keyed submit's record and its task: the job runs once, its retry finds it", async () => {
    // A second API that SIGKILLs itself at that exact point (MNIST_FAILPOINTS), as a crash would.
    const doomed = await spawnApi({ ...cluster.env, MNIST_FAILPOINTS: 'submit.after-record' });
    await waitForHealthy(doomed.url);
    const spec = { ...TINY, seed: 21 };
    const cut = await fetch(`${doomed.url}/v1/jobs`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'lifecycle-crash-1' },
      body: JSON.stringify(spec),
    }).catch((err: unknown) => err);
    expect(cut).toBeInstanceOf(Error); // the connection died with the process
    expect(await doomed.exited).toBeNull(); // killed by a signal
    const all = (await call<{ jobs: JobRecord[] }>('/v1/jobs?limit=1000')).body.jobs;
    const [orphan, ...more] = all.filter((j) => j.spec.seed === 21);
    expect(more).toEqual([]);
    expect(orphan!.state).toBe('queued'); // a record, no task yet
    // The surviving API's reconciler queues its task (keyed: the client may still retry).
    expect((await waitForJob(orphan!.id, (r) => r.state === 'succeeded', 60_000)).state).toBe('succeeded');
    const retry = await submit(spec, 'lifecycle-crash-1');
    expect([retry.status, retry.body.id]).toEqual([201, orphan!.id]);
    const after = (await call<{ jobs: JobRecord[] }>('/v1/jobs?limit=1000')).body.jobs;
    expect(after.filter((j) => j.spec.seed === 21).length).toBe(1);
  });

  it('30 jobs the fleet cannot place do not delay a runnable one; they wait parked, with a reason', async () => {
    const huge = await Promise.all(Array.from({ length: 30 }, () => submit(HUGE)));
    expect(huge.map((r) => r.status)).toEqual(Array(30).fill(201));
    const small = await submit(TINY);
    const next = await submit({ ...TINY, seed: 2 });
    expect([small.status, next.status]).toEqual([201, 201]);
    const started = await waitForJob(small.body.id, (r) => r.state !== 'queued', 5_000);
    expect(started.state).not.toBe('queued');
    // Runnable jobs start in submit order.
    const [a, b] = [
      await waitForJob(small.body.id, (r) => r.state === 'succeeded', 60_000),
      await waitForJob(next.body.id, (r) => r.state === 'succeeded', 60_000),
    ];
    expect(Date.parse(a.startedAt!)).toBeLessThanOrEqual(Date.parse(b.startedAt!));
    const parked = await job(huge[0]!.body.id);
    expect(parked).toMatchObject({ state: 'parked', message: expect.stringMatching(/needs 64 trainers, 1 live/) });
    // They leave the work queue's path: no task of theirs is on it.
    for (const r of huge.slice(0, 3)) {
      const task = await jsm.streams.getMessage(NATS_NAMES.tasksStream, {
        last_by_subj: NATS_NAMES.taskSubject(r.body.id),
      });
      expect(task).toBeNull();
    }
    // Cancelling a parked job works like any other.
    expect((await call<JobRecord>(`/v1/jobs/${huge[1]!.body.id}/cancel`, { method: 'POST' })).body.state).toBe(
      'cancelled',
    );
  });
});
