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
  let waited = 0; // coordinations in a row that ended with the job waiting for trainers
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
    let outcome: Awaited<ReturnType<typeof coordinateTask>>;
    try {
      outcome = await coordinateTask(ctx, msg);
    } catch (err) {
      log.error('task.coordination_failed', { error: err });
      requeueTask(msg, ctx.config.requeueDelayMs);
    } finally {
      state.toIdle();
    }
    waited = outcome === 'waiting' ? waited + 1 : 0;
    if (waited > 0) await sleep(standAsideMs(ctx.config.recruitWindowMs, waited));
  }
}

/**
 * After a job went back for want of free trainers: idle but pulling nothing for a moment,
 * so that another coordinator can recruit this trainer. Without it every trainer of a small
 * fleet takes a big job's task in turn, each finds the others busy coordinating, and no
 * group ever forms (a livelock the chaos run found: 3 trainers, a queue of 3-replica jobs).
 * Random (2-6 recruit windows), so that one trainer pulls again while the others still stand
 * aside, and doubling with each failure in a row up to 4x (as Ethernet backs off after
 * collisions): two coordinators that keep colliding soon leave one idle long enough to be
 * recruited by the other. (A 3-min livelock of that kind stalled a 3-trainer test once.)
 */
export function standAsideMs(windowMs: number, failuresInARow: number, random = Math.random()): number {
  return windowMs * 2 ** Math.min(failuresInARow - 1, 2) * (2 + 4 * random);
}
