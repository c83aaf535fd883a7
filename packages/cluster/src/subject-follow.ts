import { DeliverPolicy, type JetStreamClient } from '@nats-io/jetstream';

export interface SubjectFollowOptions {
  /** Deliver messages after this stream sequence; from the start when 0/undefined. */
  afterSeq?: number;
  signal?: AbortSignal;
}

const decoder = new TextDecoder();

/** JSON, or undefined when the bytes are not JSON. */
export function parseJson(data: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(data));
  } catch {
    return undefined;
  }
}

/**
 * One subject of a stream in order, from `afterSeq` on, then live, until `signal` aborts or
 * the caller stops. An ordered consumer: the client re-creates it after a reconnect at the
 * last sequence seen, so nothing is skipped or repeated; it is deleted on the way out
 * (closing it alone leaves it on the server for minutes). Yields the raw bytes: each log
 * (events, job logs) checks its own schema.
 */
export async function* followSubject(
  js: JetStreamClient,
  stream: string,
  subject: string,
  o: SubjectFollowOptions = {},
): AsyncGenerator<{ seq: number; data: Uint8Array }> {
  if (o.signal?.aborted) return;
  const after = o.afterSeq ?? 0;
  const consumer = await js.consumers.get(stream, {
    filter_subjects: subject,
    ...(after > 0
      ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: after + 1 }
      : { deliver_policy: DeliverPolicy.All }),
  });
  const messages = await consumer.consume();
  const stop = () => {
    messages.close().catch(() => undefined); // closing a consumer whose connection is gone: nothing left to release
  };
  o.signal?.addEventListener('abort', stop, { once: true });
  // An abort during the awaits above fired no listener: honour it now.
  if (o.signal?.aborted) stop();
  try {
    for await (const m of messages) yield { seq: m.seq, data: m.data };
  } finally {
    o.signal?.removeEventListener('abort', stop);
    await messages.close();
    await consumer.delete().catch(() => undefined);
  }
}
