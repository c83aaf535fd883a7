import { withNatsRetry, type TaskLease } from '@mnist/cluster';
import { sleep } from '@mnist/core';
import type { TrainerContext } from './context.js';
import { coordinateTask } from './run/coordinate.js';
import { requeueTask } from './run/settle.js';

/** Short pulls, so a drain never waits long for an outstanding one. */
const PULL_EXPIRES_MS = 2_000;

/**
 * Takes one task at a time from the shared work-queue consumer, and only while idle: a
 * reserved or busy trainer pulls nothing. Returns once the trainer starts draining.
 */
export async function runTaskLoop(ctx: TrainerContext): Promise<void> {
  const { log, state } = ctx;
  const puller = await withNatsRetry(() => ctx.cluster.tasks.puller(), {
    what: 'task consumer',
    maxMs: Number.POSITIVE_INFINITY,
    log,
  });
  while (await state.waitUntilIdle()) {
    let msg: TaskLease | undefined;
    try {
      msg = await puller.next(PULL_EXPIRES_MS);
    } catch (err) {
      log.warn('task.pull_failed', { error: err });
      await sleep(1_000);
      continue;
    }
    if (!msg) continue;
    if (!state.isIdle()) {
      // A recruiter reserved us while the pull was outstanding: let someone else have it.
      msg.nak();
      continue;
    }
    try {
      await coordinateTask(ctx, msg);
    } catch (err) {
      log.error('task.coordination_failed', { error: err });
      requeueTask(msg, ctx.config.requeueDelayMs);
    } finally {
      state.toIdle();
    }
  }
}
