import { fail, ownedBy, requeue, type JobTransition } from '@mnist/protocol';
import { withNatsRetry, type TaskLease } from '@mnist/cluster';
import { type Logger } from '@mnist/core';
import type { TrainerContext } from '../context.js';

/** Record updates and epoch events must land; ride out a broker restart for this long. */
export const NATS_RETRY_MS = 120_000;

/** Done with the task for good: the job is final. Confirmed by the server, so a retry cannot lose it. */
export async function ackTask(msg: TaskLease, log: Logger): Promise<void> {
  try {
    await withNatsRetry(() => msg.ack({ timeoutMs: 5_000 }), { what: 'ack task', maxMs: NATS_RETRY_MS, log });
  } catch (err) {
    // The task comes back after the ack wait; whoever takes it sees a final record and acks it.
    log.warn('task.ack_failed', { error: err });
  }
}

/** A delay that grows by half with each delivery of the task, from REQUEUE_DELAY_MS up to `maxMs`. */
export function backoff(ctx: TrainerContext, msg: TaskLease, maxMs: number): number {
  return Math.min(ctx.config.requeueDelayMs * 1.5 ** Math.min(msg.deliveries - 1, 20), maxMs);
}

/** Put the job back: it waits `delayMs`, then any idle trainer may take it. */
export function requeueTask(msg: TaskLease, delayMs: number): void {
  // Jitter: two coordinators naking competing jobs must not come back in lockstep.
  msg.nak(Math.round(delayMs * (0.75 + Math.random() * 0.5)));
}

/** A record transition that must land even across a broker restart. */
export function writeRecord(ctx: TrainerContext, jobId: string, t: JobTransition, log: Logger, what: string = t.name) {
  return withNatsRetry(() => ctx.cluster.jobs.transition(jobId, t), { what, maxMs: NATS_RETRY_MS, log });
}

/** The job back to 'queued' with why, if `attempt` still owns it. */
export function markQueued(ctx: TrainerContext, jobId: string, attempt: number, message: string, log: Logger) {
  return writeRecord(ctx, jobId, requeue(message, ownedBy(attempt)), log);
}

/** The job to 'failed' with the reason, if `attempt` still owns it. */
export function markFailed(ctx: TrainerContext, jobId: string, attempt: number, message: string, log: Logger) {
  return writeRecord(ctx, jobId, fail(message, ownedBy(attempt)), log);
}
