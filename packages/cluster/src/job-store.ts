import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { KvWatchInclude, type KV, type KvEntry } from '@nats-io/kv';
import {
  cancel,
  JobRecordSchema,
  newJobRecord,
  type JobRecord,
  type JobSpec,
  type JobTransition,
} from '@mnist/protocol';
import { CorruptRecordError, JobConflictError, JobExistsError, JobFinishedError, JobNotFoundError } from '@mnist/core';
import { newJobId } from './job-ids.js';
import { endKvWatch, listKvKeys } from './kv-watch.js';

/** Called after a successful write that changed state, attempt or message (publishes the status event). */
export type StatusChangeHook = (prev: JobRecord | undefined, next: JobRecord) => Promise<void>;

/** A record with the KV revision it was read at: the token for compare-and-set. */
export interface JobEntry {
  record: JobRecord;
  revision: number;
}

export interface TransitionResult {
  record: JobRecord;
  /** False when the transition did not apply to the current record (its state, a guard, nothing to change). */
  changed: boolean;
}

const MAX_CAS_ATTEMPTS = 20;
const encoder = new TextEncoder();

const isCasConflict = (err: unknown) =>
  err instanceof JetStreamApiError &&
  (err.code === JetStreamApiCodes.StreamWrongLastSequence ||
    err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);

const statusChanged = (a: JobRecord | undefined, b: JobRecord) =>
  !a || a.state !== b.state || a.attempt !== b.attempt || a.message !== b.message;

function parseEntry(e: KvEntry): JobRecord {
  const parsed = JobRecordSchema.safeParse(e.json());
  if (!parsed.success) throw new CorruptRecordError(`job record '${e.key}'`, { cause: parsed.error });
  return parsed.data;
}

/**
 * Job records in the jobs KV bucket. Every change is a compare-and-set on the revision
 * read, so concurrent writers (the API cancelling, a trainer finishing) never overwrite
 * each other: the loser re-reads and decides again.
 */
export class JobStore {
  constructor(
    private readonly kv: KV,
    private readonly onStatus: StatusChangeHook = async () => undefined,
  ) {}

  /**
   * Writes a new record in state 'queued', or 'parked' with the reason when `parked` is
   * given. Throws JobExistsError if the id is taken.
   */
  async create(spec: JobSpec, opts: { id?: string; now?: Date; parked?: string } = {}): Promise<JobRecord> {
    const record = newJobRecord(opts.id ?? newJobId(), spec, opts.now ?? new Date(), opts.parked);
    try {
      await this.kv.create(record.id, encoder.encode(JSON.stringify(record)));
    } catch (err) {
      if (isCasConflict(err)) throw new JobExistsError(record.id, { cause: err });
      throw err;
    }
    await this.onStatus(undefined, record);
    return record;
  }

  async getEntry(id: string): Promise<JobEntry | undefined> {
    const e = await this.kv.get(id);
    if (!e || e.operation !== 'PUT') return undefined;
    return { record: parseEntry(e), revision: e.revision };
  }

  async get(id: string): Promise<JobRecord | undefined> {
    return (await this.getEntry(id))?.record;
  }

  /** Every job, newest first. */
  async list(): Promise<JobRecord[]> {
    const ids = await listKvKeys(this.kv);
    const records = await Promise.all(ids.map((id) => this.get(id)));
    return records
      .filter((r): r is JobRecord => r !== undefined)
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /**
   * The executor of the job state graph (see @mnist/protocol's job-transitions): reads the
   * record, applies the named transition `t` (undefined: it does not apply, leave it), and
   * writes the result only if nobody wrote in between; otherwise re-reads and applies again.
   */
  async transition(id: string, t: JobTransition): Promise<TransitionResult> {
    for (let attempt = 1; attempt <= MAX_CAS_ATTEMPTS; attempt++) {
      const entry = await this.getEntry(id);
      if (!entry) throw new JobNotFoundError(id);
      const proposed = t.apply(entry.record, new Date());
      if (!proposed) return { record: entry.record, changed: false };
      const next = JobRecordSchema.parse({ ...proposed, id, updatedAt: new Date().toISOString() });
      try {
        await this.kv.update(id, encoder.encode(JSON.stringify(next)), entry.revision);
      } catch (err) {
        if (isCasConflict(err)) continue;
        throw err;
      }
      if (statusChanged(entry.record, next)) await this.onStatus(entry.record, next);
      return { record: next, changed: true };
    }
    throw new JobConflictError(id, MAX_CAS_ATTEMPTS);
  }

  /**
   * Deletes a record (retention), only if it is still at `revision`: a job that changed
   * meanwhile is left alone. Purge keeps one marker instead of the key's history.
   */
  async remove(id: string, revision: number): Promise<boolean> {
    try {
      await this.kv.purge(id, { previousSeq: revision });
      return true;
    } catch (err) {
      if (isCasConflict(err)) return false;
      throw err;
    }
  }

  /** Moves a job that is not finished to 'cancelled'. Throws JobNotFoundError or JobFinishedError. */
  async cancel(id: string, message = 'cancelled by request'): Promise<JobRecord> {
    const { record, changed } = await this.transition(id, cancel(message));
    // cancel leaves every state but the final ones.
    if (!changed) throw new JobFinishedError(id, record.state);
    return record;
  }

  /**
   * Records as they change: one job (`id`) or all. With `includeCurrent` (default) the
   * current value(s) come first, so a watcher cannot miss a change made before it started.
   * Ends when `signal` aborts.
   */
  async *watch(opts: { id?: string; signal?: AbortSignal; includeCurrent?: boolean } = {}): AsyncGenerator<JobRecord> {
    if (opts.signal?.aborted) return;
    const it = await this.kv.watch({
      key: opts.id ?? '>',
      include: opts.includeCurrent === false ? KvWatchInclude.UpdatesOnly : KvWatchInclude.LastValue,
    });
    const stop = () => it.stop();
    opts.signal?.addEventListener('abort', stop, { once: true });
    // An abort during the await above fired no listener: honour it now.
    if (opts.signal?.aborted) stop();
    try {
      for await (const e of it) {
        if (e.operation !== 'PUT') continue;
        yield parseEntry(e);
      }
    } finally {
      opts.signal?.removeEventListener('abort', stop);
      await endKvWatch(it);
    }
  }
}
