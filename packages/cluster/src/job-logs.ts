import {
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { LOG_LIMITS, LogRecordSchema, NATS_NAMES, renderLogText, type LogLine, type LogRecord } from '@mnist/protocol';
import type { LogTap } from '@mnist/core';
import { followSubject, parseJson, type SubjectFollowOptions } from './subject-follow.js';

/** The logs stream's bounds: lines per job (the oldest go first), all jobs' bytes, and age. */
export const LOGS_STREAM_LIMITS = { maxBytes: 256 * 1024 * 1024, maxMsgSize: 8 * 1024 } as const;

const nanos = (ms: number) => ms * 1_000_000;
const encoder = new TextEncoder();

/**
 * Creates the job logs stream if it is missing (trainers call it with the other resources),
 * on as many servers as they are. Bounded three ways: lines per job, bytes in all, and the
 * events' age.
 */
export async function ensureLogsStream(jsm: JetStreamManager, maxAgeMs: number, replicas = 1): Promise<void> {
  const exists = await jsm.streams.info(NATS_NAMES.logsStream).then(
    () => true,
    () => false,
  );
  if (exists) return;
  await jsm.streams
    .add({
      name: NATS_NAMES.logsStream,
      subjects: [NATS_NAMES.logsWildcard],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_msgs_per_subject: LOG_LIMITS.linesPerJob,
      max_bytes: LOGS_STREAM_LIMITS.maxBytes,
      max_msg_size: LOGS_STREAM_LIMITS.maxMsgSize,
      max_age: nanos(maxAgeMs),
      num_replicas: replicas,
    })
    .catch(async (err: unknown) => {
      // Another trainer created it between our info and add.
      if (
        !(await jsm.streams.info(NATS_NAMES.logsStream).then(
          () => true,
          () => false,
        ))
      )
        throw err;
    });
}

const isFieldNumber = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** Each job's trainer log lines on the MNIST_LOGS stream, one subject per job. */
export class JobLogs {
  constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
  ) {}

  /**
   * A log tap (`teeLogger`) that keeps the lines naming a job (a `jobId` field) in that
   * job's log, with the trainer, rank and attempt. Plain publishes, not acknowledged ones:
   * a log line never waits for the broker, and one lost in a broker restart is acceptable.
   */
  sink(trainerId: string): LogTap {
    return (level, event, fields) => {
      const jobId = fields.jobId;
      if (typeof jobId !== 'string') return;
      const record: LogRecord = {
        ts: new Date().toISOString(),
        attempt: isFieldNumber(fields.attempt) ? fields.attempt : 0,
        rank: isFieldNumber(fields.rank) ? fields.rank : 0,
        trainerId,
        level,
        event,
        text: renderLogText(event, fields),
      };
      this.nc.publish(NATS_NAMES.logsSubject(jobId), encoder.encode(JSON.stringify(record)));
    };
  }

  /** A job's lines after `afterSeq` and then live, until `signal` aborts. Lines that do not parse are skipped. */
  async *follow(jobId: string, o: SubjectFollowOptions = {}): AsyncGenerator<LogLine> {
    for await (const m of followSubject(this.js, NATS_NAMES.logsStream, NATS_NAMES.logsSubject(jobId), o)) {
      const parsed = LogRecordSchema.safeParse(parseJson(m.data));
      if (parsed.success) yield { seq: m.seq, ...parsed.data };
    }
  }

  /**
   * The newest `limit` lines after `afterSeq`, oldest first; [] when the job has none (or there is
   * no logs stream yet).
   */
  async tail(jobId: string, o: { afterSeq?: number; limit: number }): Promise<LogLine[]> {
    const jsm = await this.js.jetstreamManager();
    const last = await jsm.streams
      .getMessage(NATS_NAMES.logsStream, { last_by_subj: NATS_NAMES.logsSubject(jobId) })
      .catch(() => null);
    if (!last || last.seq <= (o.afterSeq ?? 0)) return [];
    const lines: LogLine[] = [];
    // Bounded by the subject's last sequence as read above; the timeout covers lines aged out meanwhile.
    const signal = AbortSignal.timeout(10_000);
    for await (const line of this.follow(jobId, {
      ...(o.afterSeq !== undefined && { afterSeq: o.afterSeq }),
      signal,
    })) {
      lines.push(line);
      if (lines.length > o.limit) lines.shift();
      if (line.seq >= last.seq) break;
    }
    return lines;
  }
}
