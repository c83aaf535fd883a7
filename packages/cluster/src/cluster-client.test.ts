import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { NATS_NAMES, parseJobSpec } from '@mnist/protocol';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNatsServer } from '@mnist/testing';
import {
  ensureClusterResources,
  jobIdForKey,
  missingClusterResources,
  natsBus,
  openCluster,
  openClusterWhenReady,
  RESOURCE_DEFAULTS,
  sharedLease,
} from './index.js';
import { ClusterNotReadyError, IdempotencyKeyReusedError } from '@mnist/core';
import { startTestBroker, type TestBroker } from '../test/test-broker.js';

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker({ resources: { taskAckWaitMs: 2_000 } });
});
afterAll(async () => {
  await broker?.[Symbol.asyncDispose]();
});

describe('resources', () => {
  /** A broker of its own: the suite's shared one already has the resources. */
  async function withEmptyBroker(test: (nc: NatsConnection) => Promise<void>): Promise<void> {
    const server = await startNatsServer();
    const nc = await connect({ servers: server.url });
    try {
      await test(nc);
    } finally {
      await nc.close();
      await server.stop();
    }
  }

  it("are file-backed and idempotent; settings are the creator's and never flip", () =>
    withEmptyBroker(async (nc) => {
      const first = await ensureClusterResources(nc, { taskAckWaitMs: 2_000, trainerTtlMs: 4_000 });
      expect(first).toEqual({
        settings: {
          taskAckWaitMs: 2_000,
          trainerTtlMs: 4_000,
          eventsMaxAgeMs: RESOURCE_DEFAULTS.eventsMaxAgeMs,
          replicas: 1,
        },
        differing: [],
      });
      const jsm = await jetstreamManager(nc);
      expect((await jsm.streams.info(NATS_NAMES.tasksStream)).config).toMatchObject({
        retention: 'workqueue',
        storage: 'file',
      });
      expect((await jsm.streams.info(NATS_NAMES.eventsStream)).config.storage).toBe('file');
      expect((await jsm.streams.info(`KV_${NATS_NAMES.jobsBucket}`)).config.storage).toBe('file');
      // A later process with other settings changes nothing, and is told so.
      const later = await ensureClusterResources(nc, { taskAckWaitMs: 3_000, trainerTtlMs: 4_000 });
      expect(later.settings).toEqual(first.settings);
      expect(later.differing).toEqual(['TASK_ACK_WAIT_MS: this process asked for 3000 ms, the cluster keeps 2000 ms']);
      expect((await jsm.consumers.info(NATS_NAMES.tasksStream, NATS_NAMES.tasksConsumer)).config.ack_wait).toBe(
        2_000 * 1e6,
      );
      expect((await jsm.streams.info(`KV_${NATS_NAMES.trainersBucket}`)).config.max_age).toBe(4_000 * 1e6);
      // A process that only uses the cluster (the API) reads the same settings.
      expect((await openCluster(nc, { ensureResources: false })).settings).toEqual(first.settings);
    }));

  it('a user of the cluster waits for its owner to create it, and never creates it', () =>
    withEmptyBroker(async (nc) => {
      await expect(openCluster(nc, { ensureResources: false })).rejects.toBeInstanceOf(ClusterNotReadyError);
      let opened = false;
      const waiting = openClusterWhenReady(nc, { pollMs: 50 }).then((c) => ((opened = true), c));
      await new Promise((r) => setTimeout(r, 300));
      expect(opened).toBe(false);
      expect(await missingClusterResources(nc)).toEqual([
        `stream KV_${NATS_NAMES.jobsBucket}`,
        `stream KV_${NATS_NAMES.trainersBucket}`,
        `stream ${NATS_NAMES.tasksStream}`,
        `stream ${NATS_NAMES.eventsStream}`,
      ]);
      await ensureClusterResources(nc, { taskAckWaitMs: 5_000 });
      expect((await waiting).settings.taskAckWaitMs).toBe(5_000);
    }));
});

describe('submit', () => {
  it('writes a queued record and one task that a trainer can take', async () => {
    const { cluster } = broker;
    const record = await cluster.submit(parseJobSpec({ model: 'lenet5', replicas: 2 }));
    expect(record.id).toMatch(/^j-[0-9a-z]+-[0-9a-z]+$/);
    expect((await cluster.jobs.get(record.id))?.state).toBe('queued');
    // The same publish again (a retry) is deduplicated.
    await cluster.tasks.publish(record.id);
    const puller = await cluster.tasks.puller();
    const lease = await puller.next(2_000);
    expect(lease).toMatchObject({ task: { jobId: record.id }, deliveries: 1 });
    await lease!.ack({ timeoutMs: 5_000 });
    expect(await puller.next(1_000)).toBeUndefined();
  });
});

describe('a shared task lease', () => {
  it('another connection keeps a task held past the ack wait and acks it', async () => {
    const { cluster, server } = broker;
    const record = await cluster.submit(parseJobSpec({ model: 'mlp', minReplicas: 1, replicas: 2 }));
    const puller = await cluster.tasks.puller();
    const lease = (await puller.next(2_000))!;
    expect(lease.reply).toMatch(/^\$JS\.ACK\./);
    const other = await connect({ servers: server.url });
    try {
      const shared = sharedLease(natsBus(other), lease, lease.task!);
      // The ack wait is 2 s: only the other connection's in-progress acks keep the task held.
      const keep = setInterval(() => shared.working(), 500);
      const redelivered = await puller.next(3_500);
      clearInterval(keep);
      expect(redelivered).toBeUndefined();
      await shared.ack({ timeoutMs: 5_000 });
      expect(await cluster.tasks.has(record.id)).toBe(false);
    } finally {
      await other.close();
    }
    expect(() => sharedLease(natsBus(broker.nc), { ...lease, reply: 'mnist.x' }, lease.task!)).toThrow(/ack subject/);
  });
});

describe('trainer registry', () => {
  it('lists fresh heartbeats and forgets removed or stale trainers', async () => {
    const { trainers } = broker.cluster;
    const now = new Date();
    const info = {
      id: 't1',
      host: 'h',
      pid: 1,
      backend: 'cpu',
      state: 'idle' as const,
      startedAt: now.toISOString(),
      lastSeen: now.toISOString(),
    };
    await trainers.heartbeat(info);
    await trainers.heartbeat({ ...info, id: 't2', state: 'busy', jobId: 'j', rank: 1 });
    expect((await trainers.list()).map((t) => `${t.id}:${t.state}`)).toEqual(['t1:idle', 't2:busy']);
    await trainers.remove('t1');
    expect((await trainers.list()).map((t) => t.id)).toEqual(['t2']);
    // Past the TTL (15 s by default) an entry no longer counts, whatever the server still holds.
    expect(await trainers.list(Date.now() + 60_000)).toEqual([]);
    await expect(trainers.heartbeat({ ...info, id: 'bad.id' })).rejects.toThrow(/trainer id/);
  });
});

describe('events', () => {
  it('follows from a sequence (Last-Event-ID) and ends at a final status', async () => {
    const { events } = broker.cluster;
    const at = new Date().toISOString();
    const seqs: number[] = [];
    for (const state of ['queued', 'running'] as const)
      seqs.push(await events.publish({ type: 'status', jobId: 'jx', state, attempt: 1, at }));
    seqs.push(
      await events.publish({
        type: 'progress',
        jobId: 'jx',
        epoch: 1,
        step: 1,
        steps: 2,
        imagesPerSec: 1,
        loss: 2,
        at,
      }),
    );
    await events.publish({ type: 'status', jobId: 'other', state: 'running', attempt: 1, at });
    const published = new Promise<number>((resolve, reject) =>
      setTimeout(() => {
        events.publish({ type: 'status', jobId: 'jx', state: 'succeeded', attempt: 1, at }).then(resolve, reject);
      }, 200),
    );
    const got: number[] = [];
    for await (const { seq, event } of events.follow('jx', {
      afterSeq: seqs[0],
      untilFinal: true,
      signal: AbortSignal.timeout(5_000),
    })) {
      expect(event.jobId).toBe('jx');
      got.push(seq);
    }
    expect(got.slice(0, 2)).toEqual(seqs.slice(1));
    expect(got).toEqual([...seqs.slice(1), await published]);
    await expect(
      events.publish({ type: 'status', jobId: 'jx', state: 'paused', attempt: 1, at } as never),
    ).rejects.toThrow();
  });

  it('skips a malformed event with a warning (the stream goes on); deletes its consumer on the way out', async () => {
    const { events } = broker.cluster;
    const js = jetstream(broker.nc);
    const at = new Date().toISOString();
    const first = await events.publish({ type: 'status', jobId: 'jbad', state: 'running', attempt: 1, at });
    await js.publish(NATS_NAMES.eventsSubject('jbad'), new TextEncoder().encode('{"type":"epoch","oops":1}'));
    await js.publish(NATS_NAMES.eventsSubject('jbad'), new TextEncoder().encode('not json'));
    const last = await events.publish({ type: 'status', jobId: 'jbad', state: 'failed', attempt: 1, at });
    const got: number[] = [];
    for await (const { seq } of events.follow('jbad', { untilFinal: true, signal: AbortSignal.timeout(5_000) }))
      got.push(seq);
    expect(got).toEqual([first, last]);
    const jsm = await jetstreamManager(broker.nc);
    expect((await jsm.streams.info(NATS_NAMES.eventsStream)).state.consumer_count).toBe(0);
  });

  it('last() reads the newest event of a job without a consumer, and skips a malformed one', async () => {
    const { events } = broker.cluster;
    const at = new Date().toISOString();
    expect(await events.last('jnone')).toBeUndefined();
    expect(await events.lastSeq('jnone')).toBe(0);
    await events.publish({ type: 'status', jobId: 'jlast', state: 'queued', attempt: 0, at });
    const seq = await events.publish({ type: 'status', jobId: 'jlast', state: 'running', attempt: 1, at });
    await events.publish({ type: 'status', jobId: 'jother', state: 'failed', attempt: 1, at });
    expect(await events.last('jlast')).toEqual({
      seq,
      event: { type: 'status', jobId: 'jlast', state: 'running', attempt: 1, at },
    });
    expect(await events.lastSeq('jlast')).toBe(seq);
    await jetstream(broker.nc).publish(NATS_NAMES.eventsSubject('jlast'), new TextEncoder().encode('not json'));
    expect(await events.last('jlast')).toBeUndefined();
  });
});

describe('bus', () => {
  it('carries pub/sub and request/reply on core NATS, and unsubscribes', async () => {
    const { bus } = broker.cluster;
    const seen: string[] = [];
    const sub = bus.subscribe('test.bus.echo', (m) => {
      seen.push(new TextDecoder().decode(m.data));
      m.respond(m.data);
    });
    bus.publish('test.bus.echo', new TextEncoder().encode('hello'));
    await bus.flush();
    const reply = await bus.request('test.bus.echo', new TextEncoder().encode('ping'), { timeout: 2_000 });
    expect(new TextDecoder().decode(reply.data)).toBe('ping');
    expect(seen).toEqual(['hello', 'ping']);
    sub.unsubscribe();
    await expect(bus.request('test.bus.echo', new Uint8Array(), { timeout: 500 })).rejects.toThrow();
    expect(bus.inbox()).not.toBe(bus.inbox());
  });
});

describe('idempotent submit', () => {
  it('the same key gives the same job and queues its task once; another spec under the key is refused', async () => {
    const { cluster } = broker;
    const spec = parseJobSpec({ model: 'mlp', replicas: 1 });
    const a = await cluster.submit(spec, { idempotencyKey: 'key-1' });
    const b = await cluster.submit(spec, {
      idempotencyKey: 'key-1',
      admit: () => Promise.reject(new Error('not asked on a retry')),
    });
    expect(b.id).toBe(a.id);
    expect(a.id).toBe(await jobIdForKey('key-1'));
    await expect(cluster.submit(parseJobSpec({ model: 'lenet5' }), { idempotencyKey: 'key-1' })).rejects.toBeInstanceOf(
      IdempotencyKeyReusedError,
    );
    expect(await cluster.tasks.has(a.id)).toBe(true);
    // A record whose task never got queued (the write landed after the submit gave up): the retry queues it.
    const orphan = await cluster.jobs.create(spec, { id: await jobIdForKey('key-2') });
    expect(await cluster.tasks.has(orphan.id)).toBe(false);
    expect((await cluster.submit(spec, { idempotencyKey: 'key-2' })).id).toBe(orphan.id);
    expect(await cluster.tasks.has(orphan.id)).toBe(true);
    const parked = await cluster.submit(spec, {
      idempotencyKey: 'key-3',
      admit: () => ({ parked: 'needs 9 trainers, 1 live' }),
    });
    expect(parked).toMatchObject({ state: 'parked', message: 'needs 9 trainers, 1 live' });
    expect(await cluster.tasks.has(parked.id)).toBe(false);
  });
});
