import type { JobRecord } from '@mnist/protocol';
import { RankStoppedError } from '../state.js';

/**
 * Whether a rank of `attempt` must stop, given the job's current record: cancelled,
 * finished, taken over by a newer attempt, or put back in the queue. Undefined while the
 * record still says this attempt is running.
 */
export function stopReasonFor(r: JobRecord, attempt: number): RankStoppedError | undefined {
  if (r.state === 'cancelled') return new RankStoppedError('cancelled', r.message ?? 'job cancelled');
  if (r.attempt !== attempt)
    return new RankStoppedError('superseded', `attempt ${attempt} superseded by attempt ${r.attempt}`);
  if (r.state === 'succeeded' || r.state === 'failed')
    return new RankStoppedError('finished', `job already ${r.state}`);
  if (r.state === 'queued')
    return new RankStoppedError('attempt-ended', r.message ?? `attempt ${attempt} was put back in the queue`);
  return undefined;
}
