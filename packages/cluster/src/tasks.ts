import type { JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import { NATS_NAMES, TaskMessageSchema, type TaskMessage } from '@mnist/protocol';
import type { MessageBus } from './bus.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A task taken off the work queue. Nobody else gets it while it is held: until `ack` or
 * `term`, until `nak` puts it back, or until the ack wait passes without `working()`.
 */
export interface TaskLease {
  /** The task; undefined when the message is not a TaskMessage (`term` it). */
  readonly task: TaskMessage | undefined;
  /** The message's stream sequence (for logs). */
  readonly seq: number;
  /** How many times the queue has handed this task out (1: the first time). */
  readonly deliveries: number;
  /** The delivery's ack subject: another process can hold and settle the task through it (`sharedLease`). */
  readonly reply: string;
  /** Done with it for good, confirmed by the server (so a retry cannot lose it). */
  ack(opts: { timeoutMs: number }): Promise<void>;
  /** Back on the queue: any trainer may take it after `delayMs` (at once without). */
  nak(delayMs?: number): void;
  /** Still on it: restarts the ack wait. */
  working(): void;
  /** Never hand it out again. */
  term(reason: string): void;
}

/** The shared work-queue consumer: one lease at a time. */
export interface TaskPuller {
  /** The next task, or undefined when none came within `expiresMs`. */
  next(expiresMs: number): Promise<TaskLease | undefined>;
}

function parseTask(data: Uint8Array): TaskMessage | undefined {
  try {
    const parsed = TaskMessageSchema.safeParse(JSON.parse(decoder.decode(data)));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function leaseOf(m: JsMsg): TaskLease {
  return {
    task: parseTask(m.data),
    seq: m.seq,
    deliveries: m.info.deliveryCount,
    // The implementation has it; the JsMsg interface does not declare it.
    reply: (m as JsMsg & { readonly reply?: string }).reply ?? '',
    ack: async ({ timeoutMs }) => {
      await m.ackAck({ timeout: timeoutMs });
    },
    nak: (delayMs) => m.nak(delayMs),
    working: () => m.working(),
    term: (reason) => m.term(reason),
  };
}

/** What another process needs to hold a delivered task: its ack subject, sequence and delivery count. */
export interface TaskShare {
  reply: string;
  seq: number;
  deliveries: number;
}

const ACK_SUBJECT = /^\$JS\.ACK\./;

/**
 * The lease of a task that another process took off the queue, held through the delivery's
 * ack subject (JetStream takes acks from any connection): the members of an elastic group
 * keep their coordinator's task alive, and one that takes over from a lost coordinator
 * settles it. A delivery that is no longer pending ignores these.
 */
export function sharedLease(bus: MessageBus, share: TaskShare, task: TaskMessage): TaskLease {
  if (!ACK_SUBJECT.test(share.reply)) throw new Error(`not a JetStream ack subject: ${share.reply}`);
  const send = (body: string) => bus.publish(share.reply, encoder.encode(body));
  return {
    task,
    seq: share.seq,
    deliveries: share.deliveries,
    reply: share.reply,
    // A request: the server answers an ack that asks for a reply once it has applied it.
    ack: async ({ timeoutMs }) => {
      await bus.request(share.reply, encoder.encode('+ACK'), { timeout: timeoutMs });
    },
    nak: (delayMs) => send(delayMs ? `-NAK ${JSON.stringify({ delay: Math.round(delayMs * 1e6) })}` : '-NAK'),
    working: () => send('+WPI'),
    term: (reason) => send(`+TERM ${reason}`),
  };
}

/** The work queue: one TaskMessage per job that needs a group; trainers take them one at a time. */
export class TaskQueue {
  private jsm: Promise<JetStreamManager> | undefined;

  constructor(private readonly js: JetStreamClient) {}

  /**
   * Enqueues "job X needs a group". The message id makes a retried publish (after a
   * timeout whose first try did land) a no-op within the stream's duplicate window; pass
   * a `dedupKey` (e.g. the record revision) when two processes may enqueue the same thing.
   */
  async publish(jobId: string, dedupKey = ''): Promise<number> {
    const task = TaskMessageSchema.parse({ jobId });
    const msgID = `task-${jobId}${dedupKey && `-${dedupKey}`}`;
    const ack = await this.js.publish(NATS_NAMES.taskSubject(jobId), encoder.encode(JSON.stringify(task)), { msgID });
    return ack.seq;
  }

  /** The trainers' side: binds the shared work-queue consumer (made with the resources). */
  async puller(): Promise<TaskPuller> {
    const consumer = await this.js.consumers.get(NATS_NAMES.tasksStream, NATS_NAMES.tasksConsumer);
    return {
      next: async (expiresMs) => {
        const m = await consumer.next({ expires: expiresMs });
        return m ? leaseOf(m) : undefined;
      },
    };
  }

  /** Whether job X has a task on the queue (waiting, or held by a trainer): one direct read, no consumer. */
  async has(jobId: string): Promise<boolean> {
    this.jsm ??= this.js.jetstreamManager();
    const m = await (
      await this.jsm
    ).streams.getMessage(NATS_NAMES.tasksStream, { last_by_subj: NATS_NAMES.taskSubject(jobId) });
    return m !== null;
  }
}
