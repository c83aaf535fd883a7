import {
  jetstreamManager,
  AckPolicy,
  DeliverPolicy,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { NATS_NAMES } from '@mnist/protocol';
import { ClusterError } from '@mnist/core';
import { ensureLogsStream } from './job-logs.js';

export interface ClusterResourceOptions {
  /** A trainer vanishes from the registry this long after its last heartbeat. */
  trainerTtlMs?: number;
  /** The work queue redelivers a task this long after its holder stopped signalling progress. */
  taskAckWaitMs?: number;
  /** Job events are kept this long (SSE replays them). */
  eventsMaxAgeMs?: number;
  /** Revisions kept per job record (for debugging; CAS needs only the last). */
  jobsHistory?: number;
  /** Servers that keep each stream and bucket (NATS_REPLICAS; at most the cluster's size). */
  replicas?: number;
}

export const RESOURCE_DEFAULTS = {
  trainerTtlMs: 15_000,
  taskAckWaitMs: 30_000,
  eventsMaxAgeMs: 7 * 24 * 3600_000,
  jobsHistory: 10,
  replicas: 1,
} as const satisfies Required<ClusterResourceOptions>;

const nanos = (ms: number) => ms * 1_000_000;

export class ResourceConflictError extends ClusterError {
  override readonly name = 'ResourceConflictError';
}

/**
 * Creates a stream with `create`, or, when it exists, brings the fields of `update` up to
 * date: layout migrations only, never settings (see ensureClusterResources).
 */
async function ensureStream(
  jsm: JetStreamManager,
  create: Partial<StreamConfig> & { name: string },
  update: Partial<StreamConfig> = {},
): Promise<void> {
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
    throw new ResourceConflictError(
      `stream ${create.name} exists with retention '${existing.retention}', expected '${create.retention}'; ` +
        'delete it or fix the name',
    );
  }
  const drift = (Object.keys(update) as (keyof StreamConfig)[]).some(
    (k) => JSON.stringify(existing[k]) !== JSON.stringify(update[k]),
  );
  if (drift) await jsm.streams.update(create.name, { ...existing, ...update });
}

/** The settings a running cluster actually has, read from the broker. */
export interface ResourceSettings {
  trainerTtlMs: number;
  taskAckWaitMs: number;
  eventsMaxAgeMs: number;
  /** The jobs bucket's replica count (every resource is made with the same). */
  replicas: number;
}

export interface EnsuredResources {
  settings: ResourceSettings;
  /** Settings this process asked for that differ from the broker's, which are kept (for a warning). */
  differing: string[];
}

/**
 * The owner's call (trainers make it at start-up): makes the broker side of the cluster
 * exist — the jobs and trainers KV buckets, the task work queue with its shared consumer,
 * and the events stream, all on file storage so a restarted nats-server keeps them.
 * Safe to call from many processes at once: creation races resolve to one configuration.
 * Settings apply when a resource is created; an existing resource keeps its own, so the
 * cluster's settings never flip with whichever process started last. A difference is
 * reported in `differing` (change them with `nats stream edit` / `nats consumer edit`, or
 * recreate the resources). Layout migrations (subjects) are applied.
 */
export async function ensureClusterResources(
  nc: NatsConnection,
  opts: ClusterResourceOptions = {},
): Promise<EnsuredResources> {
  const o = { ...RESOURCE_DEFAULTS, ...opts };
  const jsm = await jetstreamManager(nc);

  const kvm = new Kvm(nc);
  await kvm.create(NATS_NAMES.jobsBucket, { history: o.jobsHistory, storage: StorageType.File, replicas: o.replicas });
  await kvm.create(NATS_NAMES.trainersBucket, {
    history: 1,
    ttl: o.trainerTtlMs,
    storage: StorageType.File,
    replicas: o.replicas,
  });

  await ensureStream(
    jsm,
    {
      name: NATS_NAMES.tasksStream,
      subjects: [NATS_NAMES.tasksWildcard],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      duplicate_window: nanos(120_000),
      num_replicas: o.replicas,
    },
    // Streams made before tasks had a subject per job.
    { subjects: [NATS_NAMES.tasksWildcard] },
  );
  await ensureStream(jsm, {
    name: NATS_NAMES.eventsStream,
    subjects: [NATS_NAMES.eventsWildcard],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: nanos(o.eventsMaxAgeMs),
    num_replicas: o.replicas,
  });

  await ensureLogsStream(jsm, o.eventsMaxAgeMs, o.replicas);

  const info = await jsm.consumers.info(NATS_NAMES.tasksStream, NATS_NAMES.tasksConsumer).catch(() => undefined);
  if (!info) {
    await jsm.consumers.add(NATS_NAMES.tasksStream, {
      durable_name: NATS_NAMES.tasksConsumer,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(o.taskAckWaitMs),
      deliver_policy: DeliverPolicy.All,
      max_deliver: -1,
      filter_subject: NATS_NAMES.tasksWildcard,
    });
  } else if (info.config.filter_subject !== NATS_NAMES.tasksWildcard) {
    await jsm.consumers.update(NATS_NAMES.tasksStream, NATS_NAMES.tasksConsumer, {
      filter_subject: NATS_NAMES.tasksWildcard,
    });
  }

  const settings = await readResourceSettings(jsm);
  const asked: [keyof ResourceSettings, string][] = [
    ['trainerTtlMs', 'TRAINER_TTL_MS'],
    ['taskAckWaitMs', 'TASK_ACK_WAIT_MS'],
    ['eventsMaxAgeMs', 'events max age'],
    ['replicas', 'NATS_REPLICAS'],
  ];
  const differing = asked
    .filter(([k]) => opts[k] !== undefined && opts[k] !== settings[k])
    .map(([k, name]) =>
      k === 'replicas'
        ? `${name}: this process asked for ${opts[k]}, the cluster keeps ${settings[k]}`
        : `${name}: this process asked for ${opts[k]} ms, the cluster keeps ${settings[k]} ms`,
    );
  return { settings, differing };
}

/** The resources a cluster needs that the broker does not have (empty: all there). */
export async function missingClusterResources(nc: NatsConnection): Promise<string[]> {
  const jsm = await jetstreamManager(nc);
  const streams = [
    `KV_${NATS_NAMES.jobsBucket}`,
    `KV_${NATS_NAMES.trainersBucket}`,
    NATS_NAMES.tasksStream,
    NATS_NAMES.eventsStream,
  ];
  const missing: string[] = [];
  for (const name of streams) if (!(await exists(() => jsm.streams.info(name)))) missing.push(`stream ${name}`);
  if (
    !missing.includes(`stream ${NATS_NAMES.tasksStream}`) &&
    !(await exists(() => jsm.consumers.info(NATS_NAMES.tasksStream, NATS_NAMES.tasksConsumer)))
  ) {
    missing.push(`consumer ${NATS_NAMES.tasksConsumer}`);
  }
  return missing;
}

/** true when `info` finds the resource, false when the broker says it does not exist; other errors propagate. */
async function exists(info: () => Promise<unknown>): Promise<boolean> {
  try {
    await info();
    return true;
  } catch (err) {
    if (/not found/i.test((err as Error).message) || /NotFound/.test((err as Error).name)) return false;
    throw err;
  }
}

export async function readResourceSettings(jsm: JetStreamManager): Promise<ResourceSettings> {
  const ms = (n: number) => Math.round(n / 1e6);
  const [jobs, trainers, events, consumer] = await Promise.all([
    jsm.streams.info(`KV_${NATS_NAMES.jobsBucket}`),
    jsm.streams.info(`KV_${NATS_NAMES.trainersBucket}`),
    jsm.streams.info(NATS_NAMES.eventsStream),
    jsm.consumers.info(NATS_NAMES.tasksStream, NATS_NAMES.tasksConsumer),
  ]);
  return {
    trainerTtlMs: ms(trainers.config.max_age),
    taskAckWaitMs: ms(consumer.config.ack_wait ?? 0),
    eventsMaxAgeMs: ms(events.config.max_age),
    replicas: jobs.config.num_replicas,
  };
}
