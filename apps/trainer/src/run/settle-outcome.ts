import { isFinalState, jobPrefix, ownedBy, succeed, type JobRecord } from '@mnist/protocol';
import type { TaskLease } from '@mnist/cluster';
import type { Logger } from '@mnist/core';
import type { TrainerContext } from '../context.js';
import type { Outcome } from './outcome.js';
import { promoteFinalAttempt } from '../storage/promote.js';
import { ackTask, markFailed, markQueued, requeueTask, writeRecord } from './settle.js';

/**
 * What the coordinator does once its attempt is over. The task is acked only when the
 * job is final; otherwise it goes back to the queue (nak), or is left alone when a newer
 * attempt owns it. Every record write is conditional on this attempt still owning the job.
 * A job that ended final in this attempt is published at its root keys before the ack.
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
      if (done.changed) await publish(ctx, done.record, log);
      log.info(done.changed ? 'job.succeeded' : 'job.success_not_recorded', { attempt, state: done.record.state });
      if (done.changed || isFinalState(done.record.state)) await ackTask(msg, log);
      return;
    }
    case 'failed': {
      log.error('job.failed', { attempt, reason: outcome.reason });
      const failed = await markFailed(ctx, jobId, attempt, outcome.reason, log);
      if (failed.changed) await publish(ctx, failed.record, log);
      return ackTask(msg, log);
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
        if (failed.changed) await publish(ctx, failed.record, log);
        return ackTask(msg, log);
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
        if (record?.state === 'cancelled' && record.attempt === attempt) await publish(ctx, record, log);
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

/** `record` is final and names this attempt: copy its artifacts to the job's root keys (best effort). */
async function publish(ctx: TrainerContext, record: JobRecord, log: Logger): Promise<void> {
  try {
    await promoteFinalAttempt(ctx.store.scope(jobPrefix(record.id)), record);
    log.info('job.published', { attempt: record.attempt, epoch: record.epoch });
  } catch (err) {
    // Readers still find everything in the attempt's folder (jobMetricsKeys).
    log.warn('job.publish_failed', { attempt: record.attempt, error: err });
  }
}
