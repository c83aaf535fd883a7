/**
 * Artifact keys, relative to a run's root: `runs/<runId>/` locally, `jobs/<jobId>/` in S3.
 * One function per artifact so no caller spells a key by hand.
 */
export const artifactKeys = {
  spec: 'spec.json',
  metrics: 'metrics.jsonl',
  report: 'report.md',
  curvesPng: 'curves.png',
  curvesSvg: 'curves.svg',
  checkpointsDir: 'checkpoints/',
  checkpoint: (epoch: number) => `checkpoints/epoch-${String(epoch).padStart(3, '0')}/`,
} as const;

const CHECKPOINT_DIR = /^checkpoints\/epoch-(\d{3,})\/$/;

/** The epoch of a checkpoint folder key (`checkpoints/epoch-007/` -> 7), or undefined. */
export function checkpointEpoch(dirKey: string): number | undefined {
  const m = CHECKPOINT_DIR.exec(dirKey);
  return m ? Number(m[1]) : undefined;
}

/** The S3 prefix of a cluster job. */
export function jobPrefix(jobId: string): string {
  return `jobs/${jobId}/`;
}

/**
 * The folder under `jobs/<id>/` that attempt n of a cluster job writes, and nothing else
 * does: a stale attempt can never touch what a newer one wrote. When the job record is
 * final, the final attempt's artifacts are copied to the job's root keys.
 */
export function attemptPrefix(attempt: number): string {
  return `attempts/${String(attempt).padStart(3, '0')}/`;
}

/**
 * Where to look for one of a cluster job's files, best first: the record's attempt, the
 * earlier ones (an attempt that is only starting has not written its copy yet, and a
 * resumed one keeps the checkpoints it did not retrain), then the job's root, where the
 * final attempt publishes its files once the record is final.
 */
export function jobArtifactCandidates(job: { id: string; attempt: number }, key: string): string[] {
  const attempts = Array.from({ length: job.attempt }, (_, i) => job.attempt - i);
  return [...attempts.map((a) => jobPrefix(job.id) + attemptPrefix(a) + key), jobPrefix(job.id) + key];
}

/**
 * Where to look for a cluster job's metrics.jsonl; keep only records up to `job.epoch`, the epochs
 * the record confirmed.
 */
export function jobMetricsKeys(job: { id: string; attempt: number }): string[] {
  return jobArtifactCandidates(job, artifactKeys.metrics);
}
