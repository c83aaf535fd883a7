import { NATS_NAMES, CLUSTER_ARTIFACTS, jobPrefix, type EpochRecord, type FinalEval } from '@mnist/protocol';
import { getModel } from '@mnist/models';
import { writeReport } from '@mnist/report';
import { putJson } from '@mnist/storage';
import { runJob } from '@mnist/training';
import type { TrainerContext } from '../context.js';
import { CollectiveError } from '../collective/errors.js';
import { NatsCollective } from '../collective/nats-collective.js';
import { finalEval } from '../final-eval.js';
import type { Assignment } from '../group/messages.js';
import { FencedStore } from '../storage/fenced-store.js';
import type { RankStoppedError } from '../state.js';
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
}

/**
 * Prepares one rank of an attempt. The collective is subscribed before this returns, so
 * a coordinator opens its own rank before confirming peers, and a peer opens its rank
 * before answering the confirm: nobody publishes into a group that is not listening.
 */
export async function openRank(ctx: TrainerContext, a: Assignment): Promise<RankHandle> {
  const log = ctx.log.child({ jobId: a.jobId, attempt: a.attempt, rank: a.rank });
  const stop = new AbortController();
  const collective =
    a.worldSize > 1
      ? await NatsCollective.open({
          nc: ctx.nc,
          prefix: NATS_NAMES.collectivePrefix(a.jobId, a.attempt),
          rank: a.rank,
          worldSize: a.worldSize,
          algorithm: a.spec.collective,
          timeoutMs: ctx.config.collectiveTimeoutMs,
          slowRoundTimeoutMs: ctx.config.collectiveSlowTimeoutMs,
          signal: stop.signal,
          log,
        })
      : undefined;

  const run = async (): Promise<RankResult> => {
    const watcher = watchAttempt(ctx.cluster.jobs, a.jobId, a.attempt, stop, log);
    const started = performance.now();
    // Steps finished after a stop was requested: the promise is "within a step or two".
    let stepsAfterStop = 0;
    try {
      const store = new FencedStore(ctx.store.scope(jobPrefix(a.jobId)), stop.signal);
      const data = await ctx.datasets.get(a.spec);
      const reporter = a.rank === 0 ? new Rank0Reporter(ctx, a, data.train.count, stop, log) : undefined;
      const result = await runJob({
        spec: a.spec,
        store,
        data,
        backend: ctx.backend,
        collective,
        resume: true,
        signal: stop.signal,
        onStart: ({ startEpoch }) => {
          // Every rank loads the checkpoint itself; they must all start from the same one.
          if (startEpoch - 1 !== a.resumeEpoch) {
            throw new CheckpointMismatchError(`rank ${a.rank} found checkpoint epoch ${startEpoch - 1}, the group resumes from ${a.resumeEpoch}`);
          }
          log.info('rank.started', { worldSize: a.worldSize, startEpoch, epochs: a.spec.epochs, trainImages: data.train.count });
        },
        onStep: (p) => {
          if (stop.signal.aborted) stepsAfterStop++;
          // After the last step come the epoch's sums, the sharded evaluation, and the first step
          // of the next epoch, which waits for rank 0's checkpoint: all may be slow.
          if (p.step === p.steps && collective) {
            collective.expectSlowRounds(3);
            log.info('collective.stats', { epoch: p.epoch, steps: p.steps, stepMs: Number(((p.elapsedSec * 1000) / p.steps).toFixed(2)), ...collective.takeStats() });
          }
          reporter?.onStep(p);
        },
        onEpoch: reporter ? (r) => reporter.onEpoch(r) : undefined,
      });
      try {
        if (a.rank !== 0) return { records: result.records };
        // finish: what the final model predicts, and the report, beside the checkpoints.
        const last = result.records.at(-1)?.epoch ?? a.spec.epochs;
        const evaluation = finalEval(result.model, data.test, last, ctx.backend);
        await putJson(store, CLUSTER_ARTIFACTS.finalEval, evaluation);
        const { title } = getModel(a.spec.model);
        await writeReport(store, {
          runs: [{ title, model: a.spec.model, records: result.records }],
          title: `${title} on ${a.spec.dataset} (job ${a.jobId})`,
          meta: { spec: a.spec, backend: ctx.backend, wallSeconds: (performance.now() - started) / 1000 },
        });
        return { records: result.records, finalEval: evaluation };
      } finally {
        result.model.dispose();
      }
    } catch (err) {
      const reason = stop.signal.aborted ? (stop.signal.reason as Error) : await explain(err);
      if (stop.signal.aborted) log.info('rank.halted', { stepsAfterStop, reason: describeError(reason) });
      // Tell the peers why (a no-op when the collective itself failed: they know).
      collective?.abort(`rank ${a.rank} (${ctx.id}): ${describeError(reason)}`, isFatal(reason));
      throw reason;
    } finally {
      watcher.stop();
      collective?.close();
    }
  };

  /**
   * A peer's abort often carries a cancel or a take-over this rank's own watch has not
   * delivered yet: the record tells, so the rank stops for the right reason (and is not
   * counted as a failed attempt).
   */
  const explain = async (err: unknown): Promise<unknown> => {
    if (!(err instanceof CollectiveError)) return err;
    const record = await ctx.cluster.jobs.get(a.jobId).catch(() => undefined);
    return (record && stopReasonFor(record, a.attempt)) ?? err;
  };

  return {
    run,
    stop: (reason) => {
      if (!stop.signal.aborted) stop.abort(reason);
      // Not yet running (a confirm failed): nothing else holds the collective.
      collective?.abort(reason.message, false);
    },
  };
}
