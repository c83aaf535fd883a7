import { isFinalState, jobPrefix, ownedBy, succeed, type JobRecord } from '@mnist/protocol';
import type { TaskLease } from '@mnist/cluster';
import type { Logger } from '@mnist/core';
import type { TrainerContext } from '../context.js';
import type { Outcome } from './outcome.js';
import { promoteFinalAttempt } from '../storage/promote.js';
import { ackTask, backoff, markFailed, markQueued, requeueTask, writeRecord } from './settle.js';

/**
 * What the coordinator does once its attempt is over. The task is acked only when the
 * job is final and published; otherwise it goes back to the queue (nak), or is left alone
 * when a newer attempt owns it. Every record write is conditional on this attempt still
 * owning the job. A job that ended final in this attempt is published at its root keys
 * before the ack: a publish cut short (S3 down, this process killed) leaves the task
 * unacked, and whoever takes it next publishes again (`settleFinal`).
 */
export async function settleOutcome(
  ctx: TrainerContext,
  msg: TaskLease,
  jobId: string,
  attempt: number,
  outcome: Outcome,
  log: Logger,
): Promise<void> {
  switch (outcome.kind) {
    case 'succeeded': {
      const done = await writeRecord(ctx, jobId, succeed(ownedBy(attempt)), log);
      log.info(done.changed ? 'job.succeeded' : 'job.success_not_recorded', { attempt, state: done.record.state });
      // Changed means succeeded; unchanged and final (cancelled meanwhile) is settled too.
      if (isFinalState(done.record.state)) await settleFinal(ctx, msg, done.record, log);
      return;
    }
    case 'failed': {
      log.error('job.failed', { attempt, reason: outcome.reason });
      const failed = await markFailed(ctx, jobId, attempt, outcome.reason, log);
      return settleFailed(ctx, msg, failed.record, log);
    }
    case 'retry': {
      if (attempt >= ctx.config.maxAttempts) {
        log.error('job.failed', { attempt, reason: outcome.reason, gaveUp: true });
        const failed = await markFailed(
          ctx,
          jobId,
          attempt,
          `gave up after ${attempt} attempts; last: ${outcome.reason}`,
          log,
        );
        return settleFailed(ctx, msg, failed.record, log);
      }
      log.warn('job.requeued', { attempt, reason: outcome.reason });
      await markQueued(
        ctx,
        jobId,
        attempt,
        `attempt ${attempt} stopped (${outcome.reason}); resuming from the last checkpoint`,
        log,
      );
      return requeueTask(msg, ctx.config.requeueDelayMs);
    }
    case 'stopped': {
      const { kind, message } = outcome.stop;
      log.info('job.stopped', { attempt, kind, reason: message });
      if (kind === 'cancelled') {
        const record = await ctx.cluster.jobs.get(jobId).catch(() => undefined);
        if (record?.state === 'cancelled' && record.attempt === attempt) return settleFinal(ctx, msg, record, log);
      }
      if (kind === 'cancelled' || kind === 'finished') return ackTask(msg, log);
      if (kind === 'attempt-ended') return requeueTask(msg, ctx.config.requeueDelayMs);
      if (kind === 'draining') {
        await markQueued(ctx, jobId, attempt, `trainer ${ctx.id} shut down; resuming from the last checkpoint`, log);
        return requeueTask(msg, 0);
      }
      return; // superseded: a newer attempt holds the task now
    }
  }
}

/** After a `fail` write: settle the job if it is final (ours or not); otherwise a newer attempt runs it, ack ours. */
function settleFailed(ctx: TrainerContext, msg: TaskLease, record: JobRecord, log: Logger): Promise<void> {
  return isFinalState(record.state) ? settleFinal(ctx, msg, record, log) : ackTask(msg, log);
}

/** Longest pause between two tries of a publish while S3 fails. */
const MAX_PUBLISH_DELAY_MS = 60_000;

/**
 * `record` is final: publish the attempt it names at the job's root keys, then ack the task.
 * Called by that attempt's coordinator, and by any trainer the task comes back to while the
 * job is final (the publish before was cut short, or its ack was lost). Publishing copies
 * the same files again, so doing it twice is harmless. If it fails the task goes back to
 * the queue, to be published later; readers meanwhile find everything in the attempt's
 * folder (jobMetricsKeys). A job that never ran (attempt 0) has nothing to publish.
 */
export async function settleFinal(ctx: TrainerContext, msg: TaskLease, record: JobRecord, log: Logger): Promise<void> {
  if (record.attempt > 0) {
    try {
      await promoteFinalAttempt(ctx.store.scope(jobPrefix(record.id)), record);
      log.info('job.published', { attempt: record.attempt, epoch: record.epoch, state: record.state });
    } catch (err) {
      // Backing off: S3 may stay down for long, and the task would come back every few seconds.
      const delay = backoff(ctx, msg, MAX_PUBLISH_DELAY_MS);
      log.warn('job.publish_failed', { attempt: record.attempt, error: err, retryInMs: Math.round(delay) });
      return requeueTask(msg, delay);
    }
  }
  await ackTask(msg, log);
}
