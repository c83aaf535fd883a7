import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { isFinalState, JobEventSchema, NATS_NAMES, type JobEvent } from '@mnist/protocol';
import { silentLogger, type Logger } from '@mnist/core';
import { followSubject, parseJson } from './subject-follow.js';

/** An event with its stream sequence: the SSE `id`, and what Last-Event-ID sends back. */
export interface SequencedEvent {
  seq: number;
  event: JobEvent;
}

export interface FollowOptions {
  /** Deliver events after this stream sequence (Last-Event-ID); from the start when 0/undefined. */
  afterSeq?: number;
  signal?: AbortSignal;
  /** End after the first status event with a final state (succeeded, failed, cancelled). */
  untilFinal?: boolean;
}

const encoder = new TextEncoder();

/** Job events on the MNIST_EVENTS stream, one subject per job. */
export class EventLog {
  private jsm: Promise<JetStreamManager> | undefined;

  constructor(
    private readonly js: JetStreamClient,
    private readonly log: Logger = silentLogger,
  ) {}

  /** Publishes (persisted by JetStream) and returns the stream sequence. */
  /** `msgId`: the stream keeps one of several publishes with it (a retry after a lost ack). */
  async publish(event: JobEvent, o: { msgId?: string } = {}): Promise<number> {
    const checked = JobEventSchema.parse(event);
    const data = encoder.encode(JSON.stringify(checked));
    const ack = await this.js.publish(NATS_NAMES.eventsSubject(checked.jobId), data, o.msgId ? { msgID: o.msgId } : {});
    return ack.seq;
  }

  /**
   * The newest event of a job, read directly from the stream (no consumer): it bounds the
   * replay of a finished job's events and gives /metrics the live throughput. Undefined when
   * the job has none, or the newest is not a JobEvent.
   */
  async last(jobId: string): Promise<SequencedEvent | undefined> {
    const m = await this.newest(jobId);
    const parsed = m ? JobEventSchema.safeParse(parseJson(m.data)) : undefined;
    return m && parsed?.success ? { seq: m.seq, event: parsed.data } : undefined;
  }

  /** The stream sequence of a job's newest event (0: none). */
  async lastSeq(jobId: string): Promise<number> {
    return (await this.newest(jobId))?.seq ?? 0;
  }

  private async newest(jobId: string) {
    // A failed lookup is not kept: the next call asks again.
    this.jsm ??= this.js.jetstreamManager().catch((err: unknown) => {
      this.jsm = undefined;
      throw err;
    });
    return (await this.jsm).streams.getMessage(NATS_NAMES.eventsStream, {
      last_by_subj: NATS_NAMES.eventsSubject(jobId),
    });
  }

  /**
   * A job's events in order, from `afterSeq` on, then live as they are published, until
   * `signal` aborts (or the job ends, with `untilFinal`). An ordered consumer: the client
   * re-creates it after a reconnect at the last sequence seen, so nothing is skipped or
   * repeated; it is deleted on the way out (closing it alone leaves it on the server for
   * minutes). A message that is not a JobEvent is skipped with a warning: one bad publish
   * must not break the job's stream for good.
   */
  async *follow(jobId: string, o: FollowOptions = {}): AsyncGenerator<SequencedEvent> {
    for await (const m of followSubject(this.js, NATS_NAMES.eventsStream, NATS_NAMES.eventsSubject(jobId), o)) {
      const parsed = JobEventSchema.safeParse(parseJson(m.data));
      if (!parsed.success) {
        this.log.warn('event.malformed_skipped', { jobId, seq: m.seq });
        continue;
      }
      yield { seq: m.seq, event: parsed.data };
      if (o.untilFinal && parsed.data.type === 'status' && isFinalState(parsed.data.state)) return;
    }
  }
}
