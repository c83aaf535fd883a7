import type { TaskLease } from '@mnist/cluster';
import type { TrainerContext } from '../context.js';

/**
 * In-progress acks on a held task, three per ack wait, so that the queue hands the task to
 * someone else only if this process dies or stalls. Returns the function that stops them.
 */
export function keepTaskAlive(ctx: TrainerContext, lease: Pick<TaskLease, 'working'>): () => void {
  const timer = setInterval(() => lease.working(), Math.max(250, ctx.cluster.settings.taskAckWaitMs / 3));
  return () => clearInterval(timer);
}
