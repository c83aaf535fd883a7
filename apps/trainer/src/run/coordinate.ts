import { randomBytes } from 'node:crypto';
import {
  availableTrainers,
  claim as claimJob,
  isElastic,
  isFinalState,
  jobPrefix,
  ownedBy,
  park,
  requeue,
  unplaceableReason,
  type JobRecord,
  type JobSpec,
} from '@mnist/protocol';
import { withNatsRetry, type TaskLease } from '@mnist/cluster';
import { type Logger } from '@mnist/core';
import type { TrainerContext } from '../context.js';
import { askStatus, confirm, recruit, release, runsAttempt, type Recruitment } from '../group/recruiter.js';
import { keepTaskAlive } from './keep-task-alive.js';
import type { DataEndpoint } from '../collective/tcp/data-listener.js';
import type { Assignment } from '../group/messages.js';
import { RankStoppedError } from '../state.js';
import { resumePoint } from '../storage/attempt-lineage.js';
import { classify, describeError } from './outcome.js';
import { openRank, type RankHandle } from './rank.js';
import { ackTask, backoff, markFailed, markQueued, requeueTask, writeRecord } from './settle.js';
import { settleFinal, settleOutcome } from './settle-outcome.js';

/** Longest pause between two looks for trainers by a job that waits for a bigger group. */
const MAX_WAIT_DELAY_MS = 15_000;

/**
 * The coordinator: this trainer took a task off the work queue and becomes rank 0 of
 * the job's next attempt. It holds the task (in-progress acks) for as long as it works on
 * it, so the queue gives the task to someone else only if this process dies or stalls.
 */
export async function coordinateTask(ctx: TrainerContext, msg: TaskLease): Promise<'waiting' | undefined> {
  const { task } = msg;
  if (!task) {
    ctx.log.error('task.malformed', { seq: msg.seq });
    msg.term('malformed task message');
    return undefined;
  }
  const log = ctx.log.child({ jobId: task.jobId });
  if (msg.deliveries > 1) log.info('task.redelivered', { deliveries: msg.deliveries });
  const stop = new AbortController();
  let rank: RankHandle | undefined;
  ctx.state.set({ kind: 'busy', jobId: task.jobId, rank: 0, stop: (r) => (stop.abort(r), rank?.stop(r)) });
  const stopKeepingAlive = keepTaskAlive(ctx, msg);
  try {
    return await coordinate(ctx, msg, task.jobId, log, stop.signal, (h) => (rank = h));
  } finally {
    stopKeepingAlive();
  }
}

/** What the phases of one coordination share. */
interface Coordination {
  ctx: TrainerContext;
  msg: TaskLease;
  jobId: string;
  log: Logger;
  stopped: AbortSignal;
  /** Set when the job went back to the queue for want of free trainers. */
  waiting?: boolean;
}

async function coordinate(
  ctx: TrainerContext,
  msg: TaskLease,
  jobId: string,
  log: Logger,
  stopped: AbortSignal,
  setRank: (h: RankHandle) => void,
) {
  const c: Coordination = { ctx, msg, jobId, log, stopped };
  const rec = await readJob(c);
  if (!rec) return;
  const resumeEpoch = await findResumeEpoch(c, rec);
  if (resumeEpoch === undefined) return;
  const recruits = await recruitPeers(c, rec);
  if (!recruits) return c.waiting ? 'waiting' : undefined;
  const members = [ctx.id, ...recruits.peers.map((p) => p.trainerId)];
  const attempt = await claim(c, rec, members, resumeEpoch, recruits);
  if (attempt === undefined) return;
  const dataPlane = dataPlaneOf(ctx, recruits);
  const assignment = (rank: number): Assignment => ({
    jobId,
    attempt,
    rank,
    worldSize: members.length,
    members,
    spec: rec.spec,
    resumeEpoch,
    group: 0,
    ...dataPlane,
    // An elastic group survives its coordinator: the members share its task.
    ...(isElastic(rec.spec) && msg.reply && { task: { reply: msg.reply, seq: msg.seq, deliveries: msg.deliveries } }),
  });
  const handle = await formGroup(c, assignment, recruits, setRank);
  if (!handle) return;
  await trainAndSettle(c, attempt, handle);
}

/**
 * Every member's data endpoint in rank order and a fresh secret for the attempt; none when a peer
 * advertised no endpoint.
 */
function dataPlaneOf(ctx: TrainerContext, { peers }: Recruitment): Pick<Assignment, 'endpoints' | 'secret'> {
  const endpoints = [ctx.dataListener.endpoint, ...peers.map((p) => p.data)];
  if (peers.length === 0 || endpoints.some((e) => e === undefined)) return {};
  return { endpoints: endpoints as DataEndpoint[], secret: randomBytes(16).toString('hex') };
}

/** read + validate: the job's record, if this task should go on (otherwise the task is settled here). */
async function readJob({ ctx, msg, jobId, log }: Coordination): Promise<JobRecord | undefined> {
  const entry = await withNatsRetry(() => ctx.cluster.jobs.getEntry(jobId), { what: 'read job', maxMs: 60_000, log });
  if (!entry) {
    log.warn('task.orphan');
    msg.term('no job record');
    return undefined;
  }
  const rec = entry.record;
  if (isFinalState(rec.state)) {
    // Final but its task came back: the publish before the ack was cut short (or the ack lost).
    log.info('task.final', { state: rec.state, attempt: rec.attempt });
    await settleFinal(ctx, msg, rec, log);
    return undefined;
  }
  if (rec.state === 'parked') {
    // A parked job has no task: the API's reconciler enqueues a new one when it can be placed.
    log.info('task.dropped', { state: rec.state });
    await ackTask(msg, log);
    return undefined;
  }
  if (rec.state === 'running' && (await holderIsAlive(ctx, rec))) {
    // The queue redelivered while the holder was slow (a long evaluation); it still owns the task.
    log.info('task.duplicate_delivery', { holder: rec.trainers[0], attempt: rec.attempt });
    return undefined;
  }
  if (rec.attempt >= ctx.config.maxAttempts) {
    await markFailed(
      ctx,
      jobId,
      rec.attempt,
      `gave up after ${rec.attempt} attempts${rec.message ? `; last: ${rec.message}` : ''}`,
      log,
    );
    await ackTask(msg, log);
    return undefined;
  }
  return rec;
}

/** resume point: the newest checkpoint the record confirmed (S3 down past all retries fails the job). */
async function findResumeEpoch({ ctx, msg, jobId, log }: Coordination, rec: JobRecord): Promise<number | undefined> {
  try {
    return (await resumePoint(ctx.store.scope(jobPrefix(jobId)), rec.attempt, rec.epoch))?.epoch ?? 0;
  } catch (err) {
    await markFailed(ctx, jobId, rec.attempt, `storage: ${describeError(err)}`, log);
    await ackTask(msg, log);
    return undefined;
  }
}

/** recruit: reservations of idle peers, never held while waiting. Too few: park or requeue the job. */
async function recruitPeers(c: Coordination, rec: JobRecord): Promise<Recruitment | undefined> {
  const { ctx, msg, jobId, log, stopped } = c;
  const { spec } = rec;
  const want = spec.replicas - 1;
  const min = (spec.minReplicas ?? spec.replicas) - 1;
  const { token, peers: offered } = await recruit(ctx, jobId, want);
  const peers = offered.slice(0, want);
  if (!stopped.aborted && peers.length >= min) return { token, peers };
  for (const p of offered) release(ctx, p.trainerId, token);
  if (stopped.aborted) {
    requeueTask(msg, 0);
    return undefined;
  }
  if (await parkIfUnplaceable(ctx, jobId, rec.attempt, spec, log)) {
    await ackTask(msg, log);
    return undefined;
  }
  const atLeast = min < want ? ` (at least ${min + 1})` : '';
  const message = `waiting for trainers: needs ${spec.replicas}${atLeast}, found ${peers.length + 1} free`;
  await writeRecord(ctx, jobId, requeue(message, ownedBy(rec.attempt)), log, 'mark waiting');
  // Back off while it keeps waiting, so an oversized job costs the fleet little.
  const delay = backoff(ctx, msg, MAX_WAIT_DELAY_MS);
  log.info('job.waiting', {
    replicas: spec.replicas,
    minReplicas: min + 1,
    found: peers.length + 1,
    retryInMs: Math.round(delay),
  });
  requeueTask(msg, delay);
  c.waiting = true;
  return undefined;
}

/** claim: the next attempt, only if nobody else claimed or finished the job meanwhile. Returns its number. */
async function claim(
  c: Coordination,
  rec: JobRecord,
  members: string[],
  resumeEpoch: number,
  { token, peers }: Recruitment,
): Promise<number | undefined> {
  const { ctx, msg, jobId, log } = c;
  const next = claimJob({ trainers: members, backend: ctx.backend, epoch: resumeEpoch }, ownedBy(rec.attempt));
  const claimed = await writeRecord(ctx, jobId, next, log);
  if (claimed.changed) return claimed.record.attempt;
  for (const p of peers) release(ctx, p.trainerId, token);
  log.info('task.claim_lost', { state: claimed.record.state, attempt: claimed.record.attempt });
  if (isFinalState(claimed.record.state)) await settleFinal(ctx, msg, claimed.record, log);
  return undefined;
}

/** form the group: our rank listens first, then each peer opens its rank and accepts. */
async function formGroup(
  c: Coordination,
  assignment: (rank: number) => Assignment,
  { token, peers }: Recruitment,
  setRank: (h: RankHandle) => void,
): Promise<RankHandle | undefined> {
  const { ctx, msg, jobId, log, stopped } = c;
  const { attempt, members, resumeEpoch } = assignment(0);
  const handle = await openRank(ctx, assignment(0));
  setRank(handle);
  ctx.state.set({ kind: 'busy', jobId, rank: 0, attempt, stop: (r) => handle.stop(r) });
  const refusals = await Promise.all(peers.map((p, i) => confirm(ctx, p.trainerId, token, assignment(i + 1))));
  const refused = refusals.findIndex((r) => r !== undefined);
  if (refused < 0 && !stopped.aborted) {
    log.info('job.group_formed', { attempt, members, resumeEpoch });
    return handle;
  }
  const why = stopped.aborted
    ? (stopped.reason as Error).message
    : `${peers[refused]!.trainerId} did not join: ${refusals[refused]}`;
  handle.stop(new RankStoppedError('attempt-ended', why));
  await markQueued(ctx, jobId, attempt, `attempt ${attempt} could not start (${why}); retrying`, log);
  requeueTask(msg, stopped.aborted ? 0 : ctx.config.requeueDelayMs);
  return undefined;
}

/** train, then settle the job and the task by how it ended. */
async function trainAndSettle(
  { ctx, msg, jobId, log }: Coordination,
  attempt: number,
  handle: RankHandle,
): Promise<void> {
  try {
    const result = await handle.run();
    log.info('job.trained', { attempt, epochs: result.records.length, testAcc: result.finalEval?.testAcc });
    await settleOutcome(ctx, msg, jobId, attempt, { kind: 'succeeded' }, log);
  } catch (err) {
    await settleOutcome(ctx, msg, jobId, attempt, classify(err), log);
  }
}

/**
 * A job that needs more trainers than are live leaves the work queue: it is parked with
 * the reason and its task is acked, so it stops costing every idle trainer a recruit round.
 * The API's reconciler puts it back when enough trainers are live.
 */
async function parkIfUnplaceable(
  ctx: TrainerContext,
  jobId: string,
  attempt: number,
  spec: JobSpec,
  log: Logger,
): Promise<boolean> {
  const trainers = await withNatsRetry(() => ctx.cluster.trainers.list(), {
    what: 'list trainers',
    maxMs: 10_000,
    log,
  });
  const message = unplaceableReason(spec, availableTrainers(trainers));
  if (message === undefined) return false;
  const { changed } = await writeRecord(ctx, jobId, park(message, ownedBy(attempt)), log);
  log.info('job.parked', { reason: message, changed });
  // Parked by us, or final/claimed meanwhile: either way this task is done.
  return true;
}

async function holderIsAlive(ctx: TrainerContext, rec: JobRecord): Promise<boolean> {
  const holder = rec.trainers[0];
  const status = holder ? await askStatus(ctx, holder) : undefined;
  const alive = runsAttempt(status, rec.id, rec.attempt);
  if (!alive)
    ctx.log.warn('task.coordinator_lost', {
      jobId: rec.id,
      holder,
      attempt: rec.attempt,
      answered: status?.state ?? 'no reply',
    });
  return alive;
}
