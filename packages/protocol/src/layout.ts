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
