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

/**
 * How many ranks a running elastic job gives back at its next safe point: what the oldest
 * queued job still lacks beyond the idle trainers, never taking the job below its minimum.
 */
export function ranksToGiveBack(job: Job, jobs: readonly Job[], trainers: readonly Trainer[]): number {
  const first = queued(jobs).find((j) => j.id !== job.id);
  if (!first || !isElastic(job.spec)) return 0;
  const lacking = neededTrainers(first.spec) - idleCount(trainers);
  const spare = job.trainers.length - neededTrainers(job.spec);
  return Math.max(0, Math.min(lacking, spare));
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
