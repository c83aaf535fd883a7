import { neededTrainers, type JobRecord, type TrainerInfo } from './cluster.js';
import { isElastic } from './job-spec.js';

/**
 * Sharing the fleet between elastic jobs (a replica range) and the queue: pure rules over
 * the jobs bucket and the trainer registry, the same for a job's rank 0 (at its epoch ends)
 * and the API's `mnist_trainers_wanted` gauge.
 */

type Job = Pick<JobRecord, 'id' | 'state' | 'spec' | 'trainers' | 'createdAt'>;
type Trainer = Pick<TrainerInfo, 'state'>;

const idleCount = (trainers: readonly Trainer[]) => trainers.filter((t) => t.state === 'idle').length;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** Queued jobs (placeable, waiting for free trainers), oldest first: the queue is served FIFO. */
const queued = (jobs: readonly Job[]) =>
  jobs.filter((j) => j.state === 'queued').sort((a, b) => a.createdAt.localeCompare(b.createdAt));

/** An elastic job takes free trainers only when no job waits for them: elasticity never starves the queue. */
export const mayGrow = (jobs: readonly Job[]) => queued(jobs).length === 0;

/** Ranks a job holds beyond its minimum. */
const spare = (j: Job) => j.trainers.length - neededTrainers(j.spec);

/**
 * How many ranks a running elastic job gives back at its next safe point: what the oldest
 * queued job still lacks beyond the idle trainers, never taking the job below its minimum.
 * Several elastic jobs share one need: the youngest gives first, each the rest of what the
 * younger ones do not cover, so that two jobs do not both give back for one queued job
 * (every rank 0 applies the rule to the same records).
 */
export function ranksToGiveBack(job: Job, jobs: readonly Job[], trainers: readonly Trainer[]): number {
  const first = queued(jobs).find((j) => j.id !== job.id);
  if (!first || !isElastic(job.spec)) return 0;
  let lacking = neededTrainers(first.spec) - idleCount(trainers);
  // This job as its caller knows it (its own members are newer than the records read).
  const others = jobs.filter((j) => j.id !== job.id && j.state === 'running' && isElastic(j.spec) && spare(j) > 0);
  const youngestFirst = [job, ...others].sort(
    (a, b) => b.createdAt.localeCompare(a.createdAt) || a.id.localeCompare(b.id),
  );
  for (const donor of youngestFirst) {
    const give = Math.max(0, Math.min(lacking, spare(donor)));
    if (donor.id === job.id) return give;
    lacking -= give;
  }
  return 0;
}

/**
 * How many more trainers the fleet could use now (the autoscaler's signal): every waiting
 * job's minimum (queued or parked), plus what running elastic jobs could still grow by, less
 * the idle trainers.
 */
export function trainersWanted(jobs: readonly Job[], trainers: readonly Trainer[]): number {
  const waiting = sum(
    jobs.filter((j) => j.state === 'queued' || j.state === 'parked').map((j) => neededTrainers(j.spec)),
  );
  const growth = sum(
    jobs
      .filter((j) => j.state === 'running' && isElastic(j.spec))
      .map((j) => Math.max(0, j.spec.replicas - j.trainers.length)),
  );
  return Math.max(0, waiting + growth - idleCount(trainers));
}
