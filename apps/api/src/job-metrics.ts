import { jobMetricsKeys } from '@mnist/protocol';
import type { ArtifactReader } from './deps.js';

const decoder = new TextDecoder();

/**
 * A job's metrics.jsonl text and key. A cluster job's attempts each write their own copy
 * (attempt-scoped, so a stale one can never overwrite a newer one's); the record's attempt
 * has the current one, and a finished job also has it at the root (see `jobMetricsKeys`).
 */
export async function readJobMetricsText(
  artifacts: ArtifactReader,
  job: { id: string; attempt: number },
): Promise<{ key: string; text: string } | undefined> {
  for (const key of jobMetricsKeys(job)) {
    const bytes = await artifacts.get(key);
    if (bytes) return { key, text: decoder.decode(bytes) };
  }
  return undefined;
}
