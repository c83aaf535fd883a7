import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { KvWatchInclude, type KV, type KvEntry } from '@nats-io/kv';
import { isFinalState, JobRecordSchema, type JobRecord, type JobSpec } from '@mnist/protocol';
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
  /** False when `fn` returned undefined (nothing to do). */
  changed: boolean;
}

const MAX_CAS_ATTEMPTS = 20;
const encoder = new TextEncoder();

const isCasConflict = (err: unknown) =>
  err instanceof JetStreamApiError &&
  (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);

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
    const at = (opts.now ?? new Date()).toISOString();
    const state = opts.parked === undefined ? { state: 'queued' } : { state: 'parked', message: opts.parked };
    const record = JobRecordSchema.parse({ id: opts.id ?? newJobId(), spec, ...state, createdAt: at, updatedAt: at, attempt: 0 });
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
    return records.filter((r): r is JobRecord => r !== undefined).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /**
   * Reads the record, lets `fn` decide the next one (undefined: leave it), and writes it
   * only if nobody wrote in between; otherwise re-reads and asks `fn` again. So `fn`
   * must be a pure decision on the record it is given.
   */
  async transition(id: string, fn: (current: JobRecord) => JobRecord | undefined): Promise<TransitionResult> {
    for (let attempt = 1; attempt <= MAX_CAS_ATTEMPTS; attempt++) {
      const entry = await this.getEntry(id);
      if (!entry) throw new JobNotFoundError(id);
      const proposed = fn(entry.record);
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
    const { record } = await this.transition(id, (r) => {
      if (isFinalState(r.state)) throw new JobFinishedError(id, r.state);
      return { ...r, state: 'cancelled', message, finishedAt: new Date().toISOString() };
    });
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
