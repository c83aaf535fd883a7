import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { NATS_NAMES, TaskMessageSchema } from '@mnist/protocol';

const encoder = new TextEncoder();

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

  /** Whether job X has a task on the queue (waiting, or held by a trainer): one direct read, no consumer. */
  async has(jobId: string): Promise<boolean> {
    this.jsm ??= this.js.jetstreamManager();
    const m = await (await this.jsm).streams.getMessage(NATS_NAMES.tasksStream, { last_by_subj: NATS_NAMES.taskSubject(jobId) });
    return m !== null;
  }
}
