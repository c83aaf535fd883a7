import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { NATS_NAMES, type JobRecord, type JobSpec } from '@mnist/protocol';
import { ClusterError } from './errors.js';
import { EventLog } from './events.js';
import { JobStore } from './job-store.js';
import { silentLogger, type Logger } from './log.js';
import { ensureClusterResources, RESOURCE_DEFAULTS, type ClusterResourceOptions } from './resources.js';
import { TaskQueue } from './tasks.js';
import { TrainerRegistry } from './trainer-registry.js';

export class SubmitError extends ClusterError {
  override readonly name = 'SubmitError';
}

/** Everything api and trainer use on the broker, over one connection. */
export interface ClusterClient {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jobs: JobStore;
  readonly trainers: TrainerRegistry;
  readonly events: EventLog;
  readonly tasks: TaskQueue;
  /** The API's submit: a 'queued' record, then a task on the work queue. */
  submit(spec: JobSpec, opts?: { id?: string }): Promise<JobRecord>;
}

export interface OpenClusterOptions {
  /** Create/update the streams and buckets first (default true). */
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
  if (o.ensureResources ?? true) await ensureClusterResources(nc, o.resources);
  const js = jetstream(nc);
  const kvm = new Kvm(js);
  const events = new EventLog(js);
  const jobs = new JobStore(await kvm.open(NATS_NAMES.jobsBucket), async (_prev, next) => {
    try {
      await events.publish({ type: 'status', jobId: next.id, state: next.state, attempt: next.attempt, message: next.message, at: next.updatedAt });
    } catch (err) {
      // The record is the truth and is written; a watcher re-reads it on reconnect.
      log.warn('event.publish_failed', { jobId: next.id, state: next.state, error: err });
    }
  });
  const trainers = new TrainerRegistry(
    await kvm.open(NATS_NAMES.trainersBucket),
    o.resources?.trainerTtlMs ?? RESOURCE_DEFAULTS.trainerTtlMs,
  );
  const tasks = new TaskQueue(js);

  const submit = async (spec: JobSpec, opts: { id?: string } = {}) => {
    const record = await jobs.create(spec, opts);
    try {
      await tasks.publish(record.id);
    } catch (err) {
      // Without a task nobody would ever take the job: do not leave it queued.
      await jobs
        .transition(record.id, (r) => (r.state === 'queued' ? { ...r, state: 'failed', message: `could not enqueue: ${(err as Error).message}` } : undefined))
        .catch((e: unknown) => log.error('job.enqueue_cleanup_failed', { jobId: record.id, error: e }));
      throw new SubmitError(`job ${record.id}: could not enqueue the task`, { cause: err });
    }
    log.info('job.submitted', { jobId: record.id, model: spec.model, replicas: spec.replicas });
    return record;
  };

  return { nc, js, jobs, trainers, events, tasks, submit };
}
