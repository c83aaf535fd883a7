import { NATS_NAMES, CLUSTER_ARTIFACTS, isElastic, jobPrefix, type EpochRecord, type FinalEval } from '@mnist/protocol';
import { getModel } from '@mnist/models';
import { writeReport } from '@mnist/report';
import type { Logger } from '@mnist/core';
import type { Split } from '@mnist/data';
import { putJson, type ArtifactStore } from '@mnist/storage';
import { runJob, type RunJobResult } from '@mnist/training';
import type { TrainerContext } from '../context.js';
import { CollectiveError } from '../collective/errors.js';
import { DataPlane } from '../collective/data-plane.js';
import { finalEval } from '../final-eval.js';
import type { Assignment } from '../group/messages.js';
import { attemptStore, resumePoint, writeLineage, type CheckpointRef } from '../storage/attempt-lineage.js';
import { FencedStore } from '../storage/fenced-store.js';
import type { RankStoppedError } from '../state.js';
import { ElasticGroup } from './elastic-group.js';
import { describeError, isFatal } from './outcome.js';
import { Rank0Reporter } from './reporter.js';
import { stopReasonFor } from './stop-reason.js';
import { watchAttempt } from './watch-attempt.js';

export class CheckpointMismatchError extends Error {
  override readonly name = 'CheckpointMismatchError';
}

export interface RankResult {
  records: EpochRecord[];
  /** Rank 0 only. */
  finalEval?: FinalEval;
}

export interface RankHandle {
  /** Trains this rank's shard to the end (rank 0 also writes final-eval.json and the report). */
  run(): Promise<RankResult>;
  /** Stops this rank (cancel, drain...); the group hears about it through the collective. */
  stop(reason: RankStoppedError): void;
  /** An elastic rank's place in the next group (rank 0's `regroup` message): undefined once it listens, or why not. */
  regroup(a: Assignment): Promise<string | undefined>;
  /** Whether this rank leads its group now: rank 0 from the start, or an elastic rank that took over. */
  leads(): boolean;
}

/** Where a rank reads and writes, and the checkpoint it starts from. */
interface RankStores {
  /** The job's folder, for reads anywhere in the job. */
  job: ArtifactStore;
  /** This attempt's own folder, fenced: writes stop when the rank stops. */
  store: FencedStore;
  from: CheckpointRef | undefined;
}

/**
 * Prepares one rank of an attempt. The collective is subscribed before this returns, so
 * a coordinator opens its own rank before confirming peers, and a peer opens its rank
 * before answering the confirm: nobody publishes into a group that is not listening.
 */
export async function openRank(ctx: TrainerContext, a: Assignment): Promise<RankHandle> {
  const log = ctx.log.child({ jobId: a.jobId, attempt: a.attempt, rank: a.rank });
  const stop = new AbortController();
  const collective = await openCollective(ctx, a, stop.signal, log);
  const elastic = isElastic(a.spec)
    ? new ElasticGroup(ctx, a, collective, (next) => openCollective(ctx, next, stop.signal, log), stop.signal, log)
    : undefined;
  return {
    run: () => runRank(ctx, a, collective, elastic, stop, log),
    stop: (reason) => {
      if (!stop.signal.aborted) stop.abort(reason);
      // Not yet running (a confirm failed): nothing else holds the collective.
      (elastic ? elastic.dataPlane : collective)?.abort(reason.message, false);
    },
    regroup: async (next) => (elastic ? elastic.receive(next) : `job ${a.jobId} has no replica range`),
    leads: () => leadsNow(a, elastic),
  };
}

/** Whether this rank leads its group now: rank 0 from the start, or an elastic rank that took over. */
const leadsNow = (a: Assignment, elastic: ElasticGroup | undefined) => (elastic ? elastic.leads : a.rank === 0);

/**
 * The group's collective, subscribed on NATS before it returns (none for a one-rank attempt);
 * its direct connections form in `runRank`, once every rank has accepted.
 */
async function openCollective(
  ctx: TrainerContext,
  a: Assignment,
  signal: AbortSignal,
  log: Logger,
): Promise<DataPlane | undefined> {
  if (a.worldSize === 1) return undefined;
  const mesh =
    a.endpoints && a.secret
      ? {
          listener: ctx.dataListener,
          endpoints: a.endpoints,
          // Each group of an elastic attempt is its own mesh: a listener keys ranks by job and attempt.
          jobId: a.group > 0 ? `${a.jobId}.g${a.group}` : a.jobId,
          attempt: a.attempt,
          secret: a.secret,
          deadlineMs: ctx.config.data.meshTimeoutMs,
          ...(ctx.dataTls ? { tls: ctx.dataTls } : {}),
        }
      : undefined;
  return DataPlane.open({
    choice: a.spec.transport,
    bus: ctx.cluster.bus,
    prefix: NATS_NAMES.collectivePrefix(a.jobId, a.attempt, a.group),
    rank: a.rank,
    worldSize: a.worldSize,
    algorithm: a.spec.collective,
    timeoutMs: ctx.config.collectiveTimeoutMs,
    slowRoundTimeoutMs: ctx.config.collectiveSlowTimeoutMs,
    signal,
    mesh,
    log,
  });
}

/** Connects the group's data plane, says which transport carries it, and (rank 0) tells the job's watchers. */
async function connectDataPlane(ctx: TrainerContext, a: Assignment, collective: DataPlane, log: Logger): Promise<void> {
  const choice = await collective.connect();
  log.info('data_plane.ready', {
    transport: choice.transport,
    choice: a.spec.transport,
    fallbackReason: choice.fallbackReason,
  });
  if (a.rank !== 0) return;
  const event = {
    type: 'group' as const,
    jobId: a.jobId,
    attempt: a.attempt,
    members: a.members,
    ...choice,
    at: new Date().toISOString(),
  };
  ctx.cluster.events.publish(event).catch((err: unknown) => log.debug('group_event.publish_failed', { error: err }));
}

/** Trains this rank to the end; on any failure tells the peers why, and always closes the collective. */
async function runRank(
  ctx: TrainerContext,
  a: Assignment,
  collective: DataPlane | undefined,
  elastic: ElasticGroup | undefined,
  stop: AbortController,
  log: Logger,
): Promise<RankResult> {
  const watcher = watchAttempt(ctx.cluster.jobs, { jobId: a.jobId, attempt: a.attempt, trainerId: ctx.id }, stop, log);
  // An elastic group changes its data plane; the stats and aborts go to the one in use.
  const current = () => (elastic ? elastic.dataPlane : collective);
  const started = performance.now();
  // Steps finished after a stop was requested: the promise is "within a step or two".
  const afterStop = { steps: 0 };
  try {
    if (collective) await connectDataPlane(ctx, a, collective, log);
    const stores = await openStores(ctx, a, stop.signal);
    const data = await ctx.datasets.get(a.spec);
    // Every rank of an elastic group may come to lead it; the loop hands epochs to the leader only.
    const reporter = new Rank0Reporter(ctx, a, data.train.count, stop, log);
    const result = await runJob({
      spec: a.spec,
      store: stores.store,
      data,
      backend: ctx.backend,
      collective,
      resumeFrom: stores.from && { store: attemptStore(stores.job, stores.from.attempt), epoch: stores.from.epoch },
      signal: stop.signal,
      elastic,
      onStart: ({ startEpoch }) => {
        log.info('rank.started', {
          worldSize: a.worldSize,
          startEpoch,
          resumedFromAttempt: stores.from?.attempt,
          epochs: a.spec.epochs,
          trainImages: data.train.count,
        });
      },
      onStep: (p) => {
        if (stop.signal.aborted) afterStop.steps++;
        // After the last step come the epoch's sums, the sharded evaluation, and the first step
        // of the next epoch, which waits for rank 0's checkpoint: all may be slow.
        const dp = current();
        if (p.step === p.steps && dp) {
          dp.expectSlowRounds(3);
          log.info('collective.stats', {
            epoch: p.epoch,
            steps: p.steps,
            stepMs: Number(((p.elapsedSec * 1000) / p.steps).toFixed(2)),
            ...dp.takeStats(),
          });
        }
        if (leadsNow(a, elastic)) reporter.onStep(p);
      },
      onEpoch: (r, o) => reporter.onEpoch(r, o),
    });
    try {
      if (!leadsNow(a, elastic)) return { records: result.records };
      return await finishRank0(ctx, a, stores.store, result, data.test, started);
    } finally {
      result.model.dispose();
    }
  } catch (err) {
    const reason = stop.signal.aborted ? (stop.signal.reason as Error) : await explain(ctx, a, err);
    if (stop.signal.aborted)
      log.info('rank.halted', { stepsAfterStop: afterStop.steps, reason: describeError(reason) });
    // Tell the peers why (a no-op when the collective itself failed: they know).
    current()?.abort(`rank ${a.rank} (${ctx.id}): ${describeError(reason)}`, isFatal(reason));
    throw reason;
  } finally {
    watcher.stop();
    if (elastic) elastic.close();
    else collective?.close();
  }
}

/** The rank's stores, and the checkpoint it resumes from: the one the coordinator chose, or an error. */
async function openStores(ctx: TrainerContext, a: Assignment, signal: AbortSignal): Promise<RankStores> {
  // Reads anywhere in the job; writes only into this attempt's own folder (see FencedStore).
  const job = ctx.store.withSignal(signal).scope(jobPrefix(a.jobId));
  const store = new FencedStore(attemptStore(job, a.attempt), signal);
  // A rank joining a running elastic group takes its state from the group, not from a checkpoint.
  if (a.joinAtEpoch !== undefined) return { job, store, from: undefined };
  const from = a.resumeEpoch > 0 ? await resumePoint(job, a.attempt - 1, a.resumeEpoch) : undefined;
  // Every rank finds the checkpoint itself; they must all start from the one the coordinator chose.
  if ((from?.epoch ?? 0) !== a.resumeEpoch) {
    throw new CheckpointMismatchError(
      `rank ${a.rank} found checkpoint epoch ${from?.epoch ?? 0}, the group resumes from ${a.resumeEpoch}`,
    );
  }
  // Before any checkpoint of this attempt: later walks of the line start from it.
  if (a.rank === 0) await writeLineage(store, a.attempt, from);
  return { job, store, from };
}

/** finish (rank 0): what the final model predicts, and the report, beside the checkpoints. */
async function finishRank0(
  ctx: TrainerContext,
  a: Assignment,
  store: ArtifactStore,
  result: RunJobResult,
  test: Split,
  started: number,
): Promise<RankResult> {
  const last = result.records.at(-1)?.epoch ?? a.spec.epochs;
  const evaluation = finalEval(result.model, test, last, ctx.backend);
  await putJson(store, CLUSTER_ARTIFACTS.finalEval, evaluation);
  const { title } = getModel(a.spec.model);
  await writeReport(store, {
    runs: [{ title, model: a.spec.model, records: result.records }],
    title: `${title} on ${a.spec.dataset} (job ${a.jobId})`,
    meta: { spec: a.spec, backend: ctx.backend, wallSeconds: (performance.now() - started) / 1000 },
  });
  return { records: result.records, finalEval: evaluation };
}

/**
 * A peer's abort often carries a cancel or a take-over this rank's own watch has not
 * delivered yet: the record tells, so the rank stops for the right reason (and is not
 * counted as a failed attempt).
 */
async function explain(ctx: TrainerContext, a: Assignment, err: unknown): Promise<unknown> {
  if (!(err instanceof CollectiveError)) return err;
  const record = await ctx.cluster.jobs.get(a.jobId).catch(() => undefined);
  return (record && stopReasonFor(record, a.attempt, ctx.id)) ?? err;
}
