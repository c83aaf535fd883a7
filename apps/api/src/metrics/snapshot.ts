import {
  isFinalState,
  JOB_STATES,
  parseMetricsJsonl,
  trainersWanted,
  type EpochRecord,
  type JobRecord,
  type JobState,
  type TrainerInfo,
} from '@mnist/protocol';
import type { ApiCluster, ArtifactReader } from '../deps.js';
import { readJobMetricsText } from '../job-metrics.js';

export interface JobSample {
  id: string;
  model: string;
  state: JobState;
  replicas: number;
  epoch: number;
  epochs: number;
  /** The newest record of metrics.jsonl. */
  last?: EpochRecord;
  /** Running jobs: training throughput from the newest progress event. */
  liveImagesPerSec?: number;
  /** Running jobs: trainers the record names that have no heartbeat (gone while holding the job). */
  lostTrainers?: number;
  /** Running jobs: ranks in its group now (an elastic job's changes with each resize). */
  ranks?: number;
}

/** What /metrics reports, read from the KV buckets, S3 and the events stream at scrape time. */
export interface ClusterSnapshot {
  jobsByState: Record<JobState, number>;
  jobs: JobSample[];
  trainers: TrainerInfo[];
  /** How many more trainers the fleet could use now (@mnist/protocol's trainersWanted): the autoscaler's signal. */
  trainersWanted: number;
  /** Reads that failed this time (e.g. one job's metrics file); the rest is still reported. */
  errors: number;
}

export interface SnapshotOptions {
  /** Finished jobs keep their per-job series this long after finishing. */
  finishedWindowMs?: number;
  /** At most this many jobs get per-job series (labels must stay bounded). */
  maxJobs?: number;
  now?: () => number;
}

const DEFAULTS = {
  finishedWindowMs: 3_600_000,
  maxJobs: 50,
  now: () => Date.now(),
} satisfies Required<SnapshotOptions>;

/**
 * Takes snapshots for the Prometheus scrape. Nothing here is the truth: the KV record says
 * which epoch is last, and the metrics file is re-read only when that epoch changes (the
 * cache key includes it), so two API replicas always report the same numbers.
 */
export function createSnapshotter(cluster: ApiCluster, artifacts: ArtifactReader, options: SnapshotOptions = {}) {
  const o = { ...DEFAULTS, ...options };
  const lastRecords = new Map<string, EpochRecord | undefined>();

  const lastRecord = async (job: JobRecord): Promise<EpochRecord | undefined> => {
    if (job.epoch === 0) return undefined;
    const key = `${job.id}@${job.epoch}`;
    if (lastRecords.has(key)) return lastRecords.get(key);
    const found = await readJobMetricsText(artifacts, job);
    const records = found ? parseMetricsJsonl(found.text, found.key) : [];
    const last = records.findLast((r) => r.epoch === job.epoch) ?? records.at(-1);
    if (lastRecords.size >= 4 * o.maxJobs) lastRecords.delete(lastRecords.keys().next().value!);
    lastRecords.set(key, last);
    return last;
  };

  const liveRate = async (job: JobRecord): Promise<number | undefined> => {
    if (job.state !== 'running') return undefined;
    const last = await cluster.events.last(job.id);
    return last?.event.type === 'progress' ? last.event.imagesPerSec : undefined;
  };

  return async function take(): Promise<ClusterSnapshot> {
    const [jobs, trainers] = await Promise.all([cluster.jobs.list(), cluster.trainers.list()]);
    const jobsByState = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
    for (const j of jobs) jobsByState[j.state]++;
    const now = o.now();
    const live = new Set(trainers.map((t) => t.id));
    const recent = jobs
      .filter((j) => !isFinalState(j.state) || now - Date.parse(j.finishedAt ?? j.updatedAt) <= o.finishedWindowMs)
      .slice(0, o.maxJobs);
    let errors = 0;
    const samples = await Promise.all(
      recent.map(async (j): Promise<JobSample> => {
        const [last, rate] = await Promise.all([
          lastRecord(j).catch(() => (errors++, undefined)),
          liveRate(j).catch(() => (errors++, undefined)),
        ]);
        return {
          id: j.id,
          model: j.spec.model,
          state: j.state,
          replicas: j.spec.replicas,
          epoch: j.epoch,
          epochs: j.spec.epochs,
          ...(last && { last }),
          ...(rate !== undefined && { liveImagesPerSec: rate }),
          ...(j.state === 'running' && {
            lostTrainers: j.trainers.filter((t) => !live.has(t)).length,
            ranks: j.trainers.length,
          }),
        };
      }),
    );
    return { jobsByState, jobs: samples, trainers, trainersWanted: trainersWanted(jobs, trainers), errors };
  };
}
