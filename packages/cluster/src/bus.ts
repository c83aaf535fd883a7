import { createInbox, type Msg, type NatsConnection } from '@nats-io/nats-core';

/** A message as a handler sees it: its bytes, and a way to answer a request. */
export interface BusMessage {
  readonly data: Uint8Array;
  /** Answers a request (false when the sender asked for no reply). */
  respond(data: Uint8Array): boolean;
}

export interface BusSubscription {
  unsubscribe(): void;
}

/**
 * Core NATS request/reply and pub/sub without the client's types: what the trainers use
 * to form groups (recruit, confirm, release, status). Subjects come from NATS_NAMES.
 */
export interface MessageBus {
  /** Fire and forget; `reply` names the subject answers go to (see `inbox`). */
  publish(subject: string, data: Uint8Array, opts?: { reply?: string }): void;
  /** Calls `callback` for each message; a message the server flags as an error is dropped. */
  subscribe(subject: string, callback: (msg: BusMessage) => void): BusSubscription;
  /** One answer, or a rejection (timeout, no responders). */
  request(subject: string, data: Uint8Array, opts: { timeout: number }): Promise<BusMessage>;
  /** Resolves once the server has seen everything published so far. */
  flush(): Promise<void>;
  /** A new unique subject to collect answers on. */
  inbox(): string;
  /** The largest message the server takes (its max_payload), for callers that split data. */
  maxPayload(): number;
}

const asBusMessage = (m: Msg): BusMessage => ({ data: m.data, respond: (data) => m.respond(data) });

export function natsBus(nc: NatsConnection): MessageBus {
  return {
    publish: (subject, data, opts) => nc.publish(subject, data, opts?.reply ? { reply: opts.reply } : undefined),
    subscribe: (subject, callback) =>
      nc.subscribe(subject, {
        callback: (err, msg) => {
          if (!err) callback(asBusMessage(msg));
        },
      }),
    request: async (subject, data, opts) => asBusMessage(await nc.request(subject, data, opts)),
    flush: () => nc.flush(),
    inbox: () => createInbox(),
    maxPayload: () => nc.info?.max_payload ?? 1_048_576,
  };
}
