import { type JobStore } from '@mnist/cluster';
import { sleep, type Logger } from '@mnist/core';
import { stopReasonFor } from './stop-reason.js';

/**
 * Watches the job record while a rank runs and aborts `target` (with a RankStoppedError)
 * when the attempt is no longer current: cancel reaches every rank this way within
 * milliseconds. A watch broken by a broker outage is re-opened; it delivers the current
 * record first, so a change made during the outage is not missed.
 */
export function watchAttempt(
  jobs: JobStore,
  { jobId, attempt, trainerId }: { jobId: string; attempt: number; trainerId: string },
  target: AbortController,
  log: Logger,
): { stop(): void } {
  const own = new AbortController();
  (async () => {
    while (!own.signal.aborted && !target.signal.aborted) {
      try {
        for await (const record of jobs.watch({ id: jobId, signal: own.signal })) {
          const stop = stopReasonFor(record, attempt, trainerId);
          if (stop) {
            log.info('rank.stop_requested', { kind: stop.kind, reason: stop.message });
            target.abort(stop);
            return;
          }
        }
      } catch (err) {
        if (!own.signal.aborted) log.warn('job.watch_failed', { error: err });
      }
      await sleep(1_000, own.signal);
    }
  })().catch((err: unknown) => log.error('job.watch_crashed', { error: err }));
  return { stop: () => own.abort() };
}
