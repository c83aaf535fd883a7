import type { JetStreamClient } from '@nats-io/jetstream';
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
  constructor(
    private readonly js: JetStreamClient,
    private readonly log: Logger = silentLogger,
  ) {}

  /** Publishes (persisted by JetStream) and returns the stream sequence. */
  async publish(event: JobEvent): Promise<number> {
    const checked = JobEventSchema.parse(event);
    const ack = await this.js.publish(NATS_NAMES.eventsSubject(checked.jobId), encoder.encode(JSON.stringify(checked)));
    return ack.seq;
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
