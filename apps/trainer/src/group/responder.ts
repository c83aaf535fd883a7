import { sharedLease, type BusMessage, type BusSubscription } from '@mnist/cluster';
import { NATS_NAMES } from '@mnist/protocol';
import type { TrainerContext } from '../context.js';
import { openRank, type RankHandle } from '../run/rank.js';
import { classify, describeError } from '../run/outcome.js';
import { RankStoppedError } from '../state.js';
import { CollectiveTimeoutError } from '../collective/errors.js';
import { markQueued } from '../run/settle.js';
import { settleOutcome } from '../run/settle-outcome.js';
import { keepTaskAlive } from '../run/keep-task-alive.js';
import {
  decodeJson,
  encodeJson,
  InboxMessageSchema,
  RecruitSchema,
  type Assignment,
  type StatusReply,
} from './messages.js';

/**
 * The peer side of group formation: answer recruits while idle (reserving ourselves for a
 * few seconds), accept the confirm that names our reservation and run the assigned rank,
 * drop the reservation on release or expiry, and answer status queries.
 */
export function startResponder(ctx: TrainerContext): BusSubscription[] {
  const { state, log } = ctx;
  const { bus } = ctx.cluster;
  const recruitSub = bus.subscribe(NATS_NAMES.recruitSubject, (msg) => {
    const req = decodeJson(RecruitSchema, msg.data);
    if (!req || !state.isIdle() || req.coordinator === ctx.id) return;
    const timer = setTimeout(() => {
      const a = state.activity;
      if (a.kind === 'reserved' && a.token === req.token) {
        log.info('reservation.expired', { jobId: req.jobId, coordinator: req.coordinator });
        state.toIdle();
      }
    }, ctx.config.reservationMs);
    state.set({ kind: 'reserved', token: req.token, coordinator: req.coordinator, jobId: req.jobId, timer });
    msg.respond(
      encodeJson({ trainerId: ctx.id, backend: ctx.backend, host: ctx.host, data: ctx.dataListener.endpoint }),
    );
  });
  const inboxSub = bus.subscribe(NATS_NAMES.trainerInbox(ctx.id), (msg) => {
    const m = decodeJson(InboxMessageSchema, msg.data);
    if (!m) return;
    const a = state.activity;
    if (m.type === 'status') msg.respond(encodeJson(statusOf(ctx)));
    else if (m.type === 'regroup') {
      const refuse = (reason: string) => msg.respond(encodeJson({ ok: false, reason }));
      if (a.kind !== 'busy' || a.jobId !== m.assignment.jobId || !a.regroup)
        refuse(`trainer ${ctx.id} runs no elastic rank of ${m.assignment.jobId} (${a.kind})`);
      else
        a.regroup(m.assignment).then(
          (why) => msg.respond(encodeJson(why === undefined ? { ok: true } : { ok: false, reason: why })),
          (err: unknown) => refuse(describeError(err)),
        );
    } else if (m.type === 'release') {
      if (a.kind === 'reserved' && a.token === m.token) state.toIdle();
    } else if (a.kind !== 'reserved' || a.token !== m.token) {
      msg.respond(encodeJson({ ok: false, reason: `trainer ${ctx.id} holds no reservation ${m.token} (${a.kind})` }));
    } else {
      // runPeer handles its own failures; this catches one thrown while handling them
      // (a reply on a closed connection), which would otherwise be an unhandled rejection.
      runPeer(ctx, m.assignment, msg).catch((e: unknown) =>
        ctx.log.error('rank.crashed', { jobId: m.assignment.jobId, error: e }),
      );
    }
  });
  return [recruitSub, inboxSub];
}

function statusOf(ctx: TrainerContext): StatusReply {
  const a = ctx.state.activity;
  if (a.kind === 'busy') return { trainerId: ctx.id, state: 'busy', jobId: a.jobId, attempt: a.attempt, rank: a.rank };
  if (a.kind === 'reserved') return { trainerId: ctx.id, state: 'reserved', jobId: a.jobId };
  return { trainerId: ctx.id, state: ctx.state.isDraining ? 'draining' : 'idle' };
}

/**
 * A peer's rank. In an elastic group it also keeps the coordinator's task alive through the
 * shared lease, and settles the task as the coordinator would if it took over from a lost one.
 */
async function runPeer(ctx: TrainerContext, a: Assignment, confirmMsg: BusMessage): Promise<void> {
  const log = ctx.log.child({ jobId: a.jobId, attempt: a.attempt, rank: a.rank });
  const lease = a.task && sharedLease(ctx.cluster.bus, a.task, { jobId: a.jobId });
  const stopKeepingAlive = lease && keepTaskAlive(ctx, lease);
  let handle: RankHandle | undefined;
  let earlyStop: RankStoppedError | undefined;
  let answered = false;
  ctx.state.set({
    kind: 'busy',
    jobId: a.jobId,
    rank: a.rank,
    attempt: a.attempt,
    stop: (r) => (handle ? handle.stop(r) : (earlyStop = r)),
    regroup: async (next) => (handle ? handle.regroup(next) : 'not running yet'),
  });
  try {
    handle = await openRank(ctx, a);
    if (earlyStop) throw earlyStop;
    confirmMsg.respond(encodeJson({ ok: true }));
    answered = true;
    await handle.run();
    log.info('rank.finished', { epochs: a.spec.epochs });
    if (lease && handle.leads()) await settleOutcome(ctx, lease, a.jobId, a.attempt, { kind: 'succeeded' }, log);
  } catch (err) {
    const outcome = classify(err);
    if (outcome.kind === 'stopped') log.info('rank.stopped', { kind: outcome.stop.kind, reason: outcome.stop.message });
    else log.warn('rank.failed', { outcome: outcome.kind, reason: outcome.kind === 'succeeded' ? '' : outcome.reason });
    if (lease && handle?.leads()) {
      // It took over the task: settle the attempt's end as its coordinator.
      await settleOutcome(ctx, lease, a.jobId, a.attempt, outcome, log);
    } else if (err instanceof CollectiveTimeoutError && err.missingRanks.includes(0)) {
      // The coordinator went silent: say so in the record now rather than after the ack wait.
      const message =
        `coordinator ${a.members[0]} stopped responding in attempt ${a.attempt}; ` +
        'the job resumes from its last checkpoint once the queue hands it out again';
      await markQueued(ctx, a.jobId, a.attempt, message, log).catch((e: unknown) =>
        log.warn('job.requeue_failed', { error: e }),
      );
    }
    // Failed before we accepted: say no, so the coordinator does not wait for us.
    if (!answered) confirmMsg.respond(encodeJson({ ok: false, reason: describeError(err) }));
    if (!answered)
      handle?.stop(err instanceof RankStoppedError ? err : new RankStoppedError('attempt-ended', describeError(err)));
  } finally {
    stopKeepingAlive?.();
    ctx.state.toIdle();
  }
}
