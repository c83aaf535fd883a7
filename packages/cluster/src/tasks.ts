import type { JetStreamClient } from '@nats-io/jetstream';
import { NATS_NAMES, TaskMessageSchema } from '@mnist/protocol';

const encoder = new TextEncoder();

/** The work queue: one TaskMessage per job that needs a group; trainers take them one at a time. */
export class TaskQueue {
  constructor(private readonly js: JetStreamClient) {}

  /**
   * Enqueues "job X needs a group". The message id makes a retried publish (after a
   * timeout whose first try did land) a no-op within the stream's duplicate window.
   */
  async publish(jobId: string): Promise<number> {
    const task = TaskMessageSchema.parse({ jobId });
    const ack = await this.js.publish(NATS_NAMES.tasksSubject, encoder.encode(JSON.stringify(task)), { msgID: `task-${jobId}` });
    return ack.seq;
  }
}
