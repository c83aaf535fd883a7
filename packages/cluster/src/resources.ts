import { jetstreamManager, AckPolicy, DeliverPolicy, RetentionPolicy, StorageType, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { NATS_NAMES } from '@mnist/protocol';
import { ClusterError } from '@mnist/core';

export interface ClusterResourceOptions {
  /** A trainer vanishes from the registry this long after its last heartbeat. */
  trainerTtlMs?: number;
  /** The work queue redelivers a task this long after its holder stopped signalling progress. */
  taskAckWaitMs?: number;
  /** Job events are kept this long (SSE replays them). */
  eventsMaxAgeMs?: number;
  /** Revisions kept per job record (for debugging; CAS needs only the last). */
  jobsHistory?: number;
}

export const RESOURCE_DEFAULTS = {
  trainerTtlMs: 15_000,
  taskAckWaitMs: 30_000,
  eventsMaxAgeMs: 7 * 24 * 3600_000,
  jobsHistory: 10,
} as const satisfies Required<ClusterResourceOptions>;

const nanos = (ms: number) => ms * 1_000_000;

export class ResourceConflictError extends ClusterError {
  override readonly name = 'ResourceConflictError';
}

/**
 * Creates a stream with `create`, or, when it exists, brings the fields of `update` up to
 * date (only those: a process that did not ask for a setting must not reset it).
 */
async function ensureStream(jsm: JetStreamManager, create: Partial<StreamConfig> & { name: string }, update: Partial<StreamConfig> = {}): Promise<void> {
  let existing: StreamConfig | undefined;
  try {
    existing = (await jsm.streams.info(create.name)).config;
  } catch (err) {
    if ((err as Error).name !== 'StreamNotFoundError' && !/stream not found/i.test((err as Error).message)) throw err;
  }
  if (!existing) {
    try {
      await jsm.streams.add(create);
      return;
    } catch (err) {
      // Another process created it between our info and add: fall through to the comparison.
      existing = (await jsm.streams.info(create.name).catch(() => Promise.reject(err))).config;
    }
  }
  if (create.retention !== undefined && existing.retention !== create.retention) {
    throw new ResourceConflictError(`stream ${create.name} exists with retention '${existing.retention}', expected '${create.retention}'; delete it or fix the name`);
  }
  const drift = (Object.keys(update) as (keyof StreamConfig)[]).some((k) => JSON.stringify(existing[k]) !== JSON.stringify(update[k]));
  if (drift) await jsm.streams.update(create.name, { ...existing, ...update });
}

/**
 * Makes the broker side of the cluster exist: the jobs and trainers KV buckets, the task
 * work queue with its shared consumer, and the events stream, all on file storage so a
 * restarted nats-server keeps them. Safe to call from every process at start-up, at the
 * same time: creation races resolve to the same configuration. Settings given explicitly
 * (the trainers pass theirs) are applied to existing resources; omitted ones create with
 * the defaults and leave existing resources alone.
 */
export async function ensureClusterResources(nc: NatsConnection, opts: ClusterResourceOptions = {}): Promise<void> {
  const o = { ...RESOURCE_DEFAULTS, ...opts };
  const jsm = await jetstreamManager(nc);

  const kvm = new Kvm(nc);
  await kvm.create(NATS_NAMES.jobsBucket, { history: o.jobsHistory, storage: StorageType.File });
  await kvm.create(NATS_NAMES.trainersBucket, { history: 1, ttl: o.trainerTtlMs, storage: StorageType.File });
  if (opts.trainerTtlMs !== undefined) {
    // Kvm.create opens an existing bucket as is. The duplicate window may not exceed the max age.
    const ttl = { max_age: nanos(opts.trainerTtlMs), duplicate_window: nanos(Math.min(opts.trainerTtlMs, 120_000)) };
    await ensureStream(jsm, { name: `KV_${NATS_NAMES.trainersBucket}` }, ttl);
  }

  await ensureStream(
    jsm,
    {
      name: NATS_NAMES.tasksStream,
      subjects: [NATS_NAMES.tasksWildcard],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      duplicate_window: nanos(120_000),
    },
    // Streams made before tasks had a subject per job.
    { subjects: [NATS_NAMES.tasksWildcard] },
  );
  await ensureStream(
    jsm,
    {
      name: NATS_NAMES.eventsStream,
      subjects: [NATS_NAMES.eventsWildcard],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: nanos(o.eventsMaxAgeMs),
    },
    opts.eventsMaxAgeMs !== undefined ? { max_age: nanos(opts.eventsMaxAgeMs) } : {},
  );

  const ackWait = nanos(o.taskAckWaitMs);
  const info = await jsm.consumers.info(NATS_NAMES.tasksStream, NATS_NAMES.tasksConsumer).catch(() => undefined);
  if (!info) {
    await jsm.consumers.add(NATS_NAMES.tasksStream, {
      durable_name: NATS_NAMES.tasksConsumer,
      ack_policy: AckPolicy.Explicit,
      ack_wait: ackWait,
      deliver_policy: DeliverPolicy.All,
      max_deliver: -1,
      filter_subject: NATS_NAMES.tasksWildcard,
    });
  } else {
    const update = {
      ...(opts.taskAckWaitMs !== undefined && info.config.ack_wait !== ackWait && { ack_wait: ackWait }),
      ...(info.config.filter_subject !== NATS_NAMES.tasksWildcard && { filter_subject: NATS_NAMES.tasksWildcard }),
    };
    if (Object.keys(update).length > 0) await jsm.consumers.update(NATS_NAMES.tasksStream, NATS_NAMES.tasksConsumer, update);
  }
}
