import {
  availableTrainers,
  fail,
  isFinalState,
  park,
  parkedReason,
  unchangedSince,
  unpark,
  unplaceableReason,
  type JobRecord,
  type JobTransition,
} from '@mnist/protocol';
import type { ClusterView } from './cluster-view.js';
import { isKeyedJobId } from './job-ids.js';
import type { JobStore } from './job-store.js';
import { silentLogger, sleep, type Logger } from '@mnist/core';
import type { TaskQueue } from './tasks.js';

export interface ReconcilerOptions {
  /** Pause between two passes. */
  intervalMs: number;
  /** A queued record younger than this (since its last write) may still be getting its task: left alone. */
  orphanGraceMs: number;
  /** A job that has not started this long after it was submitted fails with the reason (0: no limit). */
  maxWaitMs: number;
  /** Finished jobs are deleted from the jobs bucket this long after they finished (0: kept). */
  retentionMs: number;
  log?: Logger;
}

export interface ReconcilerDeps {
  view: ClusterView;
  jobs: JobStore;
  tasks: TaskQueue;
}

const oldestFirst = (a: JobRecord, b: JobRecord) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id);
const secondsSince = (iso: string, now: number) => Math.round((now - Date.parse(iso)) / 1000);

/**
 * Brings job records and the work queue back in line, one pass every `intervalMs`:
 * - parked jobs go back on the queue, oldest first, once enough trainers are live;
 * - a queued job without a task (a submit whose write landed after its timeout) is
 *   enqueued again, or failed with the reason when it never ran and has no Idempotency-Key
 *   (its client saw an error and may have submitted it again);
 * - jobs that waited past `maxWaitMs` without starting fail with the reason;
 * - finished jobs past `retentionMs` are deleted.
 * Every action is a compare-and-set on the revision seen or a deduplicated publish, so
 * two API processes may both run it: they cannot undo each other or enqueue twice.
 */
export class Reconciler {
  private readonly log: Logger;
  private readonly stopped = new AbortController();
  /** Revision at which a queued job's task was last seen on the queue (no need to look again). */
  private readonly taskSeen = new Map<string, number>();
  private loop: Promise<void> | undefined;

  constructor(
    private readonly deps: ReconcilerDeps,
    private readonly o: ReconcilerOptions,
  ) {
    this.log = o.log ?? silentLogger;
  }

  start(): void {
    this.loop ??= (async () => {
      while (!this.stopped.signal.aborted) {
        await this.pass().catch((err: unknown) => this.log.warn('reconcile.failed', { error: err }));
        await sleep(this.o.intervalMs, this.stopped.signal);
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped.abort();
    await this.loop;
  }

  /** One pass over the view. */
  async pass(now = Date.now()): Promise<void> {
    const live = availableTrainers(this.deps.view.trainers(now));
    const entries = this.deps.view.jobEntries().sort((a, b) => oldestFirst(a.record, b.record));
    const open = new Set<string>();
    for (const { record: r, revision } of entries) {
      if (!isFinalState(r.state)) open.add(r.id);
      // One job's trouble (deleted meanwhile, a timeout) must not stop the pass.
      await this.reconcile(r, revision, live, now).catch((err: unknown) =>
        this.log.warn('reconcile.job_failed', { jobId: r.id, error: err }),
      );
    }
    for (const id of this.taskSeen.keys()) if (!open.has(id)) this.taskSeen.delete(id);
  }

  private async reconcile(r: JobRecord, revision: number, live: number, now: number): Promise<void> {
    {
      if (isFinalState(r.state)) {
        if (
          this.o.retentionMs > 0 &&
          now - Date.parse(r.finishedAt ?? r.updatedAt) > this.o.retentionMs &&
          (await this.deps.jobs.remove(r.id, revision))
        ) {
          this.log.info('job.retention_removed', { jobId: r.id, state: r.state });
        }
        return;
      }
      if (r.state === 'running') return;
      if (!r.startedAt && this.o.maxWaitMs > 0 && now - Date.parse(r.createdAt) > this.o.maxWaitMs) {
        const waited = secondsSince(r.createdAt, now);
        const limit = Math.round(this.o.maxWaitMs / 1000);
        const reason = r.state === 'parked' ? parkedReason(r.spec, live) : (r.message ?? 'no trainer took it');
        const why = `not started after ${waited} s (limit ${limit} s): ${reason}`;
        await this.move(r, revision, fail(why, unchangedSince(r)), 'job.wait_expired');
        return;
      }
      if (r.state === 'parked') await this.unpark(r, revision, live);
      else await this.checkTask(r, revision, live, now);
    }
  }

  private async unpark(r: JobRecord, revision: number, live: number): Promise<void> {
    const unplaceable = unplaceableReason(r.spec, live);
    // Still too big: only the reason is brought up to date (park refuses a write that changes nothing).
    if (unplaceable !== undefined) await this.move(r, revision, park(unplaceable, unchangedSince(r)));
    else if (await this.move(r, revision, unpark(unchangedSince(r)), 'job.unparked'))
      await this.deps.tasks.publish(r.id, `unpark-${revision}`);
  }

  private async checkTask(r: JobRecord, revision: number, live: number, now: number): Promise<void> {
    if (now - Date.parse(r.updatedAt) < this.o.orphanGraceMs || this.taskSeen.get(r.id) === revision) return;
    if (await this.deps.tasks.has(r.id)) {
      this.taskSeen.set(r.id, revision);
      return;
    }
    const unplaceable = unplaceableReason(r.spec, live);
    if (r.attempt === 0 && !isKeyedJobId(r.id)) {
      const message =
        'the submit timed out before its task was queued; submit it again (an Idempotency-Key makes retries safe)';
      await this.move(r, revision, fail(message, unchangedSince(r)), 'job.orphan_failed');
    } else if (unplaceable !== undefined) {
      await this.move(r, revision, park(unplaceable, unchangedSince(r)), 'job.orphan_parked');
    } else {
      await this.deps.tasks.publish(r.id, `orphan-${revision}`);
      this.log.warn('job.orphan_requeued', { jobId: r.id, attempt: r.attempt });
    }
  }

  /** Applies `t` (guarded by unchangedSince(r): only if the record is still as seen at `revision`). */
  private async move(r: JobRecord, revision: number, t: JobTransition, event?: string): Promise<boolean> {
    const { changed, record } = await this.deps.jobs.transition(r.id, t);
    if (changed && event)
      this.log.info(event, { jobId: r.id, revision, ...(record.message !== undefined && { message: record.message }) });
    return changed;
  }
}
