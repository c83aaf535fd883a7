import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { fail, NATS_NAMES, unchangedSince, type JobRecord, type JobSpec } from '@mnist/protocol';
import { natsBus, type MessageBus } from './bus.js';
import { ClusterView } from './cluster-view.js';
import {
  ClusterNotReadyError,
  failpoint,
  IdempotencyKeyReusedError,
  JobExistsError,
  silentLogger,
  sleep,
  SubmitError,
  type Logger,
} from '@mnist/core';
import { EventLog } from './events.js';
import { jobIdForKey } from './job-ids.js';
import { JobLogs } from './job-logs.js';
import { JobStore } from './job-store.js';
import { isTransientNatsError, withNatsRetry } from './nats-errors.js';
import {
  ensureClusterResources,
  missingClusterResources,
  readResourceSettings,
  type ClusterResourceOptions,
  type ResourceSettings,
} from './resources.js';
import { TaskQueue } from './tasks.js';
import { TrainerRegistry } from './trainer-registry.js';

/**
 * Everything api and trainer use on the broker, over one connection. The connection and
 * the JetStream client stay inside this package: apps see these interfaces only.
 */
export interface ClusterClient {
  /** Core request/reply and pub/sub (the trainers' group formation). */
  readonly bus: MessageBus;
  /** The cluster's settings as the broker has them (the trainers' at creation). */
  readonly settings: ResourceSettings;
  readonly jobs: JobStore;
  readonly trainers: TrainerRegistry;
  readonly events: EventLog;
  readonly tasks: TaskQueue;
  /** Each job's trainer log lines (bounded), written through a trainer's log tap. */
  readonly logs: JobLogs;
  /** A watched copy of the jobs and trainers buckets (the API's; see ClusterView). */
  openView(): Promise<ClusterView>;
  /** The API's submit: a 'queued' record, then a task on the work queue (or a 'parked' record, no task). */
  submit(spec: JobSpec, opts?: SubmitOptions): Promise<JobRecord>;
}

/** Admission's answer for a new job: run it, or park it with the reason. */
export interface Admission {
  parked?: string;
}

export interface SubmitOptions {
  id?: string;
  /**
   * The client's Idempotency-Key: the same key gives the same job. A retry after a
   * timeout whose write landed late gets that job back, and its task is queued if the
   * first try never got to it. The same key with another spec is IdempotencyKeyReusedError.
   */
  idempotencyKey?: string;
  /** Asked only before a new record is written (not on a retry): may throw (queue full) or park the job. */
  admit?: () => Admission | Promise<Admission>;
}

const sameSpec = (a: JobSpec, b: JobSpec) => JSON.stringify(a) === JSON.stringify(b);

export interface OpenClusterOptions {
  /**
   * Create the streams and buckets that are missing (default true: the trainers, which own
   * them). false: only use them, and throw ClusterNotReadyError while they do not exist (the API).
   */
  ensureResources?: boolean;
  resources?: ClusterResourceOptions;
  log?: Logger;
}

/**
 * Binds the cluster's buckets and streams on a connection. Status changes of job
 * records publish a `status` event, whoever makes them, so watchers see the API's
 * cancel and a trainer's progress through the same stream.
 */
export async function openCluster(nc: NatsConnection, o: OpenClusterOptions = {}): Promise<ClusterClient> {
  const log = o.log ?? silentLogger;
  let settings: ResourceSettings;
  if (o.ensureResources ?? true) {
    const ensured = await ensureClusterResources(nc, o.resources);
    for (const d of ensured.differing) log.warn('resources.setting_differs', { setting: d });
    settings = ensured.settings;
  } else {
    const missing = await missingClusterResources(nc);
    if (missing.length > 0) throw new ClusterNotReadyError(missing);
    settings = await readResourceSettings(await jetstreamManager(nc));
  }
  const js = jetstream(nc);
  const kvm = new Kvm(js);
  const events = new EventLog(js, log);
  const jobsKv = await kvm.open(NATS_NAMES.jobsBucket);
  const trainersKv = await kvm.open(NATS_NAMES.trainersBucket);
  const { trainerTtlMs } = settings;
  const jobs = new JobStore(jobsKv, async (_prev, next) => {
    const event = {
      type: 'status' as const,
      jobId: next.id,
      state: next.state,
      attempt: next.attempt,
      message: next.message,
      at: next.updatedAt,
    };
    try {
      // Retried through a broker restart (a lost final event would leave a follower waiting);
      // the id makes a retry after a lost ack land once.
      const msgId = `status:${next.id}:${next.state}:${next.attempt}:${next.updatedAt}`;
      await withNatsRetry(() => events.publish(event, { msgId }), { what: 'status event', maxMs: 30_000, log });
    } catch (err) {
      // The record is the truth and is written; a watcher re-reads it on reconnect.
      log.warn('event.publish_failed', { jobId: next.id, state: next.state, error: err });
    }
  });
  const trainers = new TrainerRegistry(trainersKv, trainerTtlMs);
  const tasks = new TaskQueue(js);

  /** A retry of a keyed submit: the first try's record, with its task queued if it has none. */
  const replay = async (id: string, spec: JobSpec): Promise<JobRecord | undefined> => {
    const entry = await jobs.getEntry(id);
    if (!entry) return undefined;
    if (!sameSpec(entry.record.spec, spec)) throw new IdempotencyKeyReusedError(id);
    // Keyed by revision: two API processes replaying at once enqueue one task.
    if (entry.record.state === 'queued' && !(await tasks.has(id))) await tasks.publish(id, `r${entry.revision}`);
    log.info('job.submit_replayed', { jobId: id, state: entry.record.state });
    return entry.record;
  };

  const submit = async (spec: JobSpec, opts: SubmitOptions = {}) => {
    const keyed = opts.idempotencyKey !== undefined;
    const id = keyed ? await jobIdForKey(opts.idempotencyKey!) : opts.id;
    const prior = keyed ? await replay(id!, spec) : undefined;
    if (prior) return prior;
    const { parked } = (await opts.admit?.()) ?? {};
    let record: JobRecord;
    try {
      record = await jobs.create(spec, { ...(id && { id }), ...(parked !== undefined && { parked }) });
    } catch (err) {
      // Another process (or our own earlier, slower write) created it just now.
      const raced = keyed && err instanceof JobExistsError ? await replay(id!, spec) : undefined;
      if (raced) return raced;
      throw err;
    }
    if (parked !== undefined) {
      log.info('job.parked', { jobId: record.id, reason: parked });
      return record;
    }
    failpoint('submit.after-record'); // the chaos run's crash between record and task
    try {
      await tasks.publish(record.id);
    } catch (err) {
      // A keyed job stays queued: the client's retry or the reconciler enqueues it. Without
      // a key the client's retry makes a new job, so this one must not run behind its back.
      if (!keyed) {
        await jobs
          .transition(record.id, fail(`could not enqueue: ${(err as Error).message}`, unchangedSince(record)))
          .catch((e: unknown) => log.error('job.enqueue_cleanup_failed', { jobId: record.id, error: e }));
      }
      throw new SubmitError(`job ${record.id}: could not enqueue the task`, { cause: err });
    }
    log.info('job.submitted', { jobId: record.id, model: spec.model, replicas: spec.replicas });
    return record;
  };

  const openView = () => ClusterView.open(jobsKv, trainersKv, { trainerTtlMs, log });

  return { bus: natsBus(nc), settings, jobs, trainers, events, tasks, logs: new JobLogs(nc, js), submit, openView };
}

/**
 * openCluster without creating anything, for processes that do not own the resources (the
 * API): waits until a trainer has created them, logging once, then opens. Ends with the
 * abort reason if `signal` aborts first.
 */
export async function openClusterWhenReady(
  nc: NatsConnection,
  o: Omit<OpenClusterOptions, 'ensureResources'> & { signal?: AbortSignal; pollMs?: number } = {},
): Promise<ClusterClient> {
  const log = o.log ?? silentLogger;
  let waiting = false;
  for (;;) {
    try {
      const cluster = await openCluster(nc, { ...o, ensureResources: false });
      if (waiting) log.info('cluster.ready', {});
      return cluster;
    } catch (err) {
      if (!(err instanceof ClusterNotReadyError) && !isTransientNatsError(err)) throw err;
      if (!waiting) log.warn('cluster.waiting', { reason: (err as Error).message });
      waiting = true;
    }
    await sleep(o.pollMs ?? 500, o.signal);
    o.signal?.throwIfAborted();
  }
}
