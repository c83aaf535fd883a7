import { type FollowOptions, type SequencedEvent } from '@mnist/cluster';
import { IdempotencyKeyReusedError, JobFinishedError, JobNotFoundError } from '@mnist/core';
import {
  cancel,
  isFinalState,
  JobRecordSchema,
  newJobRecord,
  type JobEvent,
  type JobRecord,
  type JobSpec,
  type LogLine,
  type LogRecord,
  type TrainerInfo,
} from '@mnist/protocol';
import type { ApiCluster, ApiSubmitOptions, ArtifactReader } from '../deps.js';

/**
 * In-memory stand-ins for the unit tests of routes (the integration tests use a real
 * nats-server, s3rver and trainers). Same contract as ClusterClient: cancel throws the
 * cluster package's errors, follow replays then goes live.
 */
export class MemoryCluster implements ApiCluster {
  readonly records = new Map<string, JobRecord>();
  readonly log: SequencedEvent[] = [];
  trainerList: TrainerInfo[] = [];
  /** Set false to emulate a lost status event (published best effort). */
  publishStatus = true;
  private waiters = new Set<() => void>();
  private n = 0;

  /** Idempotency keys seen, and the job each one made. */
  private keys = new Map<string, string>();

  async submit(spec: JobSpec, o: ApiSubmitOptions = {}): Promise<JobRecord> {
    const prior = o.idempotencyKey === undefined ? undefined : this.records.get(this.keys.get(o.idempotencyKey) ?? '');
    if (prior) {
      if (JSON.stringify(prior.spec) !== JSON.stringify(spec)) throw new IdempotencyKeyReusedError(prior.id);
      return prior;
    }
    const { parked } = (await o.admit?.()) ?? {};
    const record = newJobRecord(`j-test-${++this.n}`, spec, new Date(), parked);
    if (o.idempotencyKey !== undefined) this.keys.set(o.idempotencyKey, record.id);
    this.records.set(record.id, record);
    this.status(record);
    return record;
  }

  /** Writes a record the way trainers do (and its status event unless told not to). */
  put(record: JobRecord): void {
    const prev = this.records.get(record.id);
    this.records.set(record.id, record);
    if (!prev || prev.state !== record.state || prev.attempt !== record.attempt) this.status(record);
  }

  private status(r: JobRecord): void {
    if (this.publishStatus)
      this.emit({ type: 'status', jobId: r.id, state: r.state, attempt: r.attempt, at: r.updatedAt });
  }

  emit(event: JobEvent): number {
    const seq = this.log.length + 1;
    this.log.push({ seq, event });
    for (const w of this.waiters) w();
    return seq;
  }

  jobs = {
    get: async (id: string) => this.records.get(id),
    list: async () =>
      [...this.records.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id)),
    cancel: async (id: string, message = 'cancelled by request') => {
      const r = this.records.get(id);
      if (!r) throw new JobNotFoundError(id);
      const now = new Date();
      const cancelled = cancel(message).apply(r, now);
      if (!cancelled) throw new JobFinishedError(id, r.state);
      const next = { ...cancelled, updatedAt: now.toISOString() };
      this.put(next);
      return next;
    },
  };

  trainers = { list: async () => this.trainerList };

  events = {
    last: async (jobId: string) => this.log.filter((e) => e.event.jobId === jobId).at(-1),
    lastSeq: async (jobId: string) => this.log.filter((e) => e.event.jobId === jobId).at(-1)?.seq ?? 0,
    follow: (jobId: string, o: FollowOptions = {}) => this.follow(jobId, o),
  };

  /** Open follows (to check that a closed connection ends them). */
  following = 0;

  private async *follow(jobId: string, o: FollowOptions): AsyncGenerator<SequencedEvent> {
    for await (const e of this.live(this.log, (e) => e.event.jobId === jobId, o)) {
      yield e;
      if (o.untilFinal && e.event.type === 'status' && isFinalState(e.event.state)) return;
    }
  }

  /** Entries of `list` (indexed by seq - 1) after `afterSeq` that match, then live as they are added. */
  private async *live<T>(
    list: T[],
    match: (t: T) => boolean,
    o: { afterSeq?: number; signal?: AbortSignal },
  ): AsyncGenerator<T> {
    let next = (o.afterSeq ?? 0) + 1;
    this.following++;
    try {
      while (!o.signal?.aborted) {
        const e = list[next - 1];
        if (!e) {
          await new Promise<void>((resolve) => {
            const done = () => (this.waiters.delete(done), o.signal?.removeEventListener('abort', done), resolve());
            this.waiters.add(done);
            o.signal?.addEventListener('abort', done, { once: true });
          });
          continue;
        }
        next++;
        if (match(e)) yield e;
      }
    } finally {
      this.following--;
    }
  }

  /** Every job's log lines, seq = index + 1 (one sequence for all jobs, as on the stream). */
  readonly logLines: Array<LogLine & { jobId: string }> = [];

  /** Adds a line to a job's log, the way a trainer's log tap does. */
  addLog(jobId: string, line: Partial<LogRecord> & { event: string }): LogLine {
    const full = {
      seq: this.logLines.length + 1,
      ts: new Date().toISOString(),
      attempt: 1,
      rank: 0,
      trainerId: 't1',
      level: 'info' as const,
      text: line.event,
      ...line,
    };
    this.logLines.push({ ...full, jobId });
    for (const w of this.waiters) w();
    return full;
  }

  logs = {
    tail: async (jobId: string, o: { afterSeq?: number; limit: number }): Promise<LogLine[]> =>
      this.logLines
        .filter((l) => l.jobId === jobId && l.seq > (o.afterSeq ?? 0))
        .slice(-o.limit)
        .map(({ jobId: _, ...l }) => l),
    follow: (jobId: string, o: { afterSeq?: number; signal?: AbortSignal } = {}) => this.followLogs(jobId, o),
  };

  private async *followLogs(jobId: string, o: { afterSeq?: number; signal?: AbortSignal }): AsyncGenerator<LogLine> {
    for await (const { jobId: _, ...l } of this.live(this.logLines, (l) => l.jobId === jobId, o)) yield l;
  }
}

export class MemoryArtifacts implements ArtifactReader {
  readonly objects = new Map<string, Uint8Array>();

  put(key: string, body: string | Uint8Array): void {
    this.objects.set(key, typeof body === 'string' ? new TextEncoder().encode(body) : body);
  }

  async get(key: string) {
    return this.objects.get(key);
  }

  async list(prefix = '') {
    return [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
}
