import type { JobRecord } from '@mnist/protocol';
import { RankStoppedError } from '../state.js';

/**
 * Whether a rank of `attempt` must stop, given the job's current record: cancelled,
 * finished, taken over by a newer attempt, put back in the queue, or (an elastic group)
 * re-formed without this trainer. Undefined while the record still says this attempt is
 * running with this trainer in its group.
 */
export function stopReasonFor(r: JobRecord, attempt: number, trainerId?: string): RankStoppedError | undefined {
  if (r.state === 'cancelled') return new RankStoppedError('cancelled', r.message ?? 'job cancelled');
  if (r.attempt !== attempt)
    return new RankStoppedError('superseded', `attempt ${attempt} superseded by attempt ${r.attempt}`);
  if (r.state === 'succeeded' || r.state === 'failed')
    return new RankStoppedError('finished', `job already ${r.state}`);
  if (r.state === 'queued')
    return new RankStoppedError('attempt-ended', r.message ?? `attempt ${attempt} was put back in the queue`);
  // A dropped rank (frozen past the timeout, then woken) never trains or writes for the job again.
  if (trainerId !== undefined && r.group > 0 && !r.trainers.includes(trainerId))
    return new RankStoppedError(
      'superseded',
      `dropped from attempt ${attempt}: group ${r.group} is ${r.trainers.join(', ')}`,
    );
  return undefined;
}
