import { withNatsRetry } from '@mnist/cluster';
import { type Logger } from '@mnist/core';
import { ownedBy, recordEpoch, type EpochRecord } from '@mnist/protocol';
import type { StepProgress } from '@mnist/training';
import type { TrainerContext } from '../context.js';
import type { Assignment } from '../group/messages.js';
import { RankStoppedError } from '../state.js';
import { NATS_RETRY_MS, writeRecord } from './settle.js';
import { stopReasonFor } from './stop-reason.js';

const PROGRESS_INTERVAL_MS = 1_000;

/**
 * Rank 0's voice: throttled progress events, and per epoch the record's epoch (a
 * compare-and-set that also notices a cancel or a newer attempt) and the epoch event.
 * An elastic rank that takes over as rank 0 speaks through its own from then on.
 */
export class Rank0Reporter {
  private lastProgress = 0;

  constructor(
    private readonly ctx: TrainerContext,
    private readonly a: Assignment,
    private readonly trainCount: number,
    private readonly stop: AbortController,
    private readonly log: Logger,
  ) {}

  onStep(p: StepProgress): void {
    const now = performance.now();
    if (now - this.lastProgress < PROGRESS_INTERVAL_MS) return;
    this.lastProgress = now;
    const images = Math.min(p.step * this.a.spec.batchSize, this.trainCount);
    const event = {
      type: 'progress' as const,
      jobId: this.a.jobId,
      epoch: p.epoch,
      step: p.step,
      steps: p.steps,
      imagesPerSec: p.elapsedSec > 0 ? images / p.elapsedSec : 0,
      loss: p.loss(),
      at: new Date().toISOString(),
    };
    // Progress is best effort: never let a slow broker hold up a training step.
    this.ctx.cluster.events
      .publish(event)
      .catch((err: unknown) => this.log.debug('progress.publish_failed', { error: err }));
  }

  async onEpoch(record: EpochRecord, { replay }: { replay: boolean } = { replay: false }): Promise<void> {
    const { events } = this.ctx.cluster;
    const { jobId, attempt } = this.a;
    if (replay && (await this.recorded(record.epoch))) return;
    // Refused once the record no longer says this attempt is running (cancelled, requeued, taken over).
    const next = recordEpoch({ epoch: record.epoch, backend: this.ctx.backend }, ownedBy(attempt));
    const result = await writeRecord(this.ctx, jobId, next, this.log, `record epoch ${record.epoch}`);
    if (!result.changed) {
      const stop =
        stopReasonFor(result.record, attempt) ??
        new RankStoppedError('superseded', 'job record no longer names this attempt');
      this.stop.abort(stop);
      throw stop;
    }
    await withNatsRetry(() => events.publish({ type: 'epoch', jobId, record, at: new Date().toISOString() }), {
      what: `epoch ${record.epoch} event`,
      maxMs: NATS_RETRY_MS,
      log: this.log,
    });
    this.log.info('epoch.done', {
      epoch: record.epoch,
      testAcc: record.testAcc,
      trainLoss: record.trainLoss,
      seconds: record.seconds,
      imagesPerSec: Math.round(record.imagesPerSec),
      ...(replay && { replayed: true }),
    });
  }

  /** Whether the record already names `epoch` for this attempt (a lost leader recorded it before it died). */
  private async recorded(epoch: number): Promise<boolean> {
    const { jobId, attempt } = this.a;
    const r = await withNatsRetry(() => this.ctx.cluster.jobs.get(jobId), {
      what: 'read job',
      maxMs: NATS_RETRY_MS,
      log: this.log,
    });
    return r !== undefined && r.attempt === attempt && r.epoch >= epoch;
  }
}
