import { artifactKeys, CLUSTER_ARTIFACTS, parseMetricsJsonl, toMetricsJsonl, type JobRecord } from '@mnist/protocol';
import { getText, putJson, type ArtifactStore } from '@mnist/storage';
import { copyCheckpoint } from '@mnist/checkpoint';
import { attemptStore, committedCheckpoints } from './attempt-lineage.js';

const COPIED = [
  [CLUSTER_ARTIFACTS.finalEval, 'application/json'],
  [artifactKeys.report, 'text/markdown'],
  [artifactKeys.curvesSvg, 'image/svg+xml'],
  [artifactKeys.curvesPng, 'image/png'],
] as const;

/**
 * Publishes a finished job at its root keys (the layout readers know: spec.json,
 * metrics.jsonl, checkpoints/epoch-NNN/, final-eval.json, report.md, curves.*), copied
 * from the attempt the final record names and the checkpoints of its line. Only that
 * attempt's coordinator calls this, after it read the final record: a final record never
 * changes, so no other attempt ever writes the root keys, and nothing is deleted.
 */
export async function promoteFinalAttempt(job: ArtifactStore, record: JobRecord): Promise<void> {
  const own = attemptStore(job, record.attempt);
  for (const ref of (await committedCheckpoints(job, record.attempt, record.epoch)).reverse()) {
    await copyCheckpoint(attemptStore(job, ref.attempt), job, ref.epoch);
  }
  await putJson(job, artifactKeys.spec, record.spec);
  const metrics = await getText(own, artifactKeys.metrics);
  if (metrics !== undefined) {
    // An epoch trained after the record stopped confirming (cancelled, failed) is not the job's.
    const records = parseMetricsJsonl(metrics, `${own.location}${artifactKeys.metrics}`).filter(
      (r) => r.epoch <= record.epoch,
    );
    await job.put(artifactKeys.metrics, toMetricsJsonl(records), 'application/x-ndjson');
  }
  for (const [key, type] of COPIED) {
    const bytes = await own.get(key);
    if (bytes) await job.put(key, bytes, type);
  }
}
