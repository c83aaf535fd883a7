import type { KV, KvWatchEntry } from '@nats-io/kv';
import { JobRecordSchema, TrainerInfoSchema, type JobRecord, type TrainerInfo } from '@mnist/protocol';
import { silentLogger, sleep, type Logger } from '@mnist/core';
import { endKvWatch } from './kv-watch.js';

/** A job record with the KV revision it was seen at (the token for compare-and-set). */
export interface ViewedJob {
  record: JobRecord;
  revision: number;
}

const newestFirst = (a: JobRecord, b: JobRecord) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id);

/**
 * One watched copy of a KV bucket: a single long-lived watch (one consumer for the life of
 * the process) instead of `keys()` and a `get` per key on every read, which left a consumer
 * behind on the broker for each request. A value that does not parse is skipped with a warning.
 */
class WatchedBucket<T> {
  readonly values = new Map<string, { value: T; revision: number }>();
  private stopped = false;
  private current: { stop(): void } | undefined;

  constructor(
    private readonly kv: KV,
    private readonly parse: (e: KvWatchEntry) => T | undefined,
    private readonly what: string,
    private readonly log: Logger,
  ) {}

  /** Resolves once the current values are loaded; then follows changes until `stop`. */
  start(): Promise<void> {
    return new Promise<void>((ready, failed) => {
      void this.run(ready).catch(failed);
    });
  }

  private async run(ready: () => void): Promise<void> {
    for (let first = true; !this.stopped; first = false) {
      try {
        if ((await this.kv.status()).values === 0) ready();
        const it = await this.kv.watch({ key: '>' });
        this.current = it;
        if (this.stopped) it.stop();
        try {
          for await (const e of it) {
            this.apply(e);
            if (e.delta === 0) ready();
          }
        } finally {
          await endKvWatch(it);
        }
      } catch (err) {
        // Never ready (the first watch failed): let the caller see why.
        if (first) throw err;
        this.log.warn('view.watch_failed', { what: this.what, error: err });
      }
      // The watch ended without stop(): start over (the broker went away, or its consumer did).
      if (!this.stopped) await sleep(1_000);
    }
  }

  /** A value written by this process: show it at once, before the watch brings it. */
  note(key: string, value: T, revision: number): void {
    const seen = this.values.get(key);
    if (!seen || seen.revision < revision) this.values.set(key, { value, revision });
  }

  private apply(e: KvWatchEntry): void {
    const seen = this.values.get(e.key);
    if (seen && seen.revision >= e.revision) return;
    if (e.operation !== 'PUT') {
      this.values.delete(e.key);
      return;
    }
    const value = this.parse(e);
    if (value === undefined) {
      this.log.warn('view.malformed_skipped', { what: this.what, key: e.key, revision: e.revision });
      this.values.delete(e.key);
      return;
    }
    this.values.set(e.key, { value, revision: e.revision });
  }

  stop(): void {
    this.stopped = true;
    this.current?.stop();
  }
}

function parseJson<T>(
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } },
  e: KvWatchEntry,
): T | undefined {
  let raw: unknown;
  try {
    raw = e.json();
  } catch {
    return undefined;
  }
  const parsed = schema.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}

/**
 * The API's view of the cluster: every job record and every live trainer, kept current by
 * two KV watches. Lists and the reconciler read it; single-job reads still go to the bucket.
 */
export class ClusterView {
  private readonly jobBucket: WatchedBucket<JobRecord>;
  private readonly trainerBucket: WatchedBucket<TrainerInfo>;

  private constructor(
    jobsKv: KV,
    trainersKv: KV,
    private readonly trainerTtlMs: number,
    log: Logger,
  ) {
    this.jobBucket = new WatchedBucket(jobsKv, (e) => parseJson(JobRecordSchema, e), 'jobs', log);
    this.trainerBucket = new WatchedBucket(trainersKv, (e) => parseJson(TrainerInfoSchema, e), 'trainers', log);
  }

  static async open(jobsKv: KV, trainersKv: KV, o: { trainerTtlMs: number; log?: Logger }): Promise<ClusterView> {
    const view = new ClusterView(jobsKv, trainersKv, o.trainerTtlMs, o.log ?? silentLogger);
    await Promise.all([view.jobBucket.start(), view.trainerBucket.start()]);
    return view;
  }

  /** Every job with its revision, newest first. */
  jobEntries(): ViewedJob[] {
    return [...this.jobBucket.values.values()]
      .map(({ value, revision }) => ({ record: value, revision }))
      .sort((a, b) => newestFirst(a.record, b.record));
  }

  /** Every job, newest first. */
  jobs(): JobRecord[] {
    return this.jobEntries().map((e) => e.record);
  }

  noteJob(record: JobRecord, revision = 0): void {
    this.jobBucket.note(record.id, record, revision);
  }

  /**
   * Trainers whose last heartbeat is within the TTL, sorted by id. Expired entries are dropped (the
   * bucket's max age sends no delete).
   */
  trainers(now = Date.now()): TrainerInfo[] {
    const live: TrainerInfo[] = [];
    for (const [id, { value }] of this.trainerBucket.values) {
      if (now - Date.parse(value.lastSeen) <= this.trainerTtlMs) live.push(value);
      else this.trainerBucket.values.delete(id);
    }
    return live.sort((a, b) => a.id.localeCompare(b.id));
  }

  close(): void {
    this.jobBucket.stop();
    this.trainerBucket.stop();
  }
}
