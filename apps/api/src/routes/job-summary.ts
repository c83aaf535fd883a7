import { parseMetricsJsonl, type EpochRecord, type JobRecord } from '@mnist/protocol';
import type { ArtifactReader } from '../deps.js';
import { readJobMetricsText } from '../job-metrics.js';

/** What a runs list shows beside the record: the last and the best test accuracy, and how long it ran. */
export interface JobSummary {
  finalTestAcc?: number;
  bestTestAcc?: number;
  durationSec?: number;
}

/** metrics.jsonl, line by line: a line that does not parse is skipped (and counted), not fatal. */
export function readMetrics(text: string): { records: EpochRecord[]; skipped: number } {
  const records: EpochRecord[] = [];
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      records.push(...parseMetricsJsonl(line));
    } catch {
      skipped++;
    }
  }
  return { records, skipped };
}

/** Seconds from start to finish (or to now, while it runs); undefined before it starts. */
export function durationSec(job: Pick<JobRecord, 'startedAt' | 'finishedAt'>, now = Date.now()): number | undefined {
  if (!job.startedAt) return undefined;
  const end = job.finishedAt ? Date.parse(job.finishedAt) : now;
  const s = (end - Date.parse(job.startedAt)) / 1000;
  return Number.isFinite(s) && s >= 0 ? Math.round(s * 10) / 10 : undefined;
}

/**
 * Test accuracies of many jobs without reading every metrics file on every list: a job's
 * file changes only when its attempt or epoch does, so the answer is kept under that key
 * (bounded; the oldest entries go first). Reads that miss run a few at a time.
 */
export function jobSummaries(artifacts: ArtifactReader, o: { maxEntries?: number; concurrency?: number } = {}) {
  const maxEntries = o.maxEntries ?? 10_000;
  const cache = new Map<string, { version: string; acc: Pick<JobSummary, 'finalTestAcc' | 'bestTestAcc'> }>();

  async function accuracy(job: JobRecord): Promise<Pick<JobSummary, 'finalTestAcc' | 'bestTestAcc'>> {
    if (job.epoch === 0) return {};
    const version = `${job.attempt}:${job.epoch}:${job.state}`;
    const hit = cache.get(job.id);
    if (hit?.version === version) return hit.acc;
    const found = await readJobMetricsText(artifacts, job);
    const { records } = found ? readMetrics(found.text) : { records: [] };
    const acc = records.length
      ? { finalTestAcc: records.at(-1)!.testAcc, bestTestAcc: Math.max(...records.map((r) => r.testAcc)) }
      : {};
    cache.delete(job.id);
    cache.set(job.id, { version, acc });
    if (cache.size > maxEntries) cache.delete(cache.keys().next().value!);
    return acc;
  }

  /** Each job with its summary fields (those known), in the same order. */
  return async function summarize<J extends JobRecord>(jobs: J[]): Promise<Array<J & JobSummary>> {
    const out: Array<J & JobSummary> = new Array(jobs.length);
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < jobs.length; i = next++) {
        const job = jobs[i]!;
        // An unreadable metrics file (a store hiccup) costs the list its accuracy columns, not its answer.
        const acc = await accuracy(job).catch(() => ({}));
        const took = durationSec(job);
        out[i] = { ...job, ...acc, ...(took !== undefined && { durationSec: took }) };
      }
    };
    await Promise.all(Array.from({ length: Math.min(o.concurrency ?? 8, jobs.length) }, worker));
    return out;
  };
}
