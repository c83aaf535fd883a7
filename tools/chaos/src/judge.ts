import { isFinalState, type JobRecord } from '@mnist/protocol';

/** What the checker read back about one job the workload asked for. */
export interface JobFacts {
  key: string;
  epochs: number;
  /** Set once the API accepted the submit. */
  id?: string;
  record?: JobRecord;
  /** Whether a task for it is on the work queue (queued: what runs it; final: a publish still owed). */
  hasTask: boolean;
  /** Epochs in the job's root metrics.jsonl, and its complete checkpoints (succeeded jobs). */
  metricsEpochs?: number[];
  checkpoints?: number[];
  /** The state of the last status event on the job's stream. */
  lastStatus?: string;
}

/** One S3 write as the proxy saw it. */
export interface Write {
  client: string;
  key: string;
  at: number;
}

export interface History {
  /** When the checker read everything back. */
  now: number;
  jobs: JobFacts[];
  /** Job records on the broker that no submission made. */
  unexpected: string[];
  /** Keys of sweeps the API never accepted, however often retried. */
  sweepsNotAccepted: string[];
  writes: Write[];
  consumers: { baseline: number; max: number; end: number };
  /** Largest resident set of any API or trainer process sampled, MiB. */
  maxRssMb: number;
}

export interface Violation {
  invariant: string;
  jobId?: string;
  detail: string;
}

export const LIMITS = {
  /** A job not final this long after its last record change is stuck (not legitimately running). */
  stuckMs: 60_000,
  /** Consumers above the baseline allowed at the end (the checker's own, open streams). */
  consumersAtEnd: 10,
  /** ... and at any sample during the run (event streams and watches of running jobs). */
  consumersDuring: 60,
  maxRssMb: 2_048,
  /** A write into an attempt's folder this long after the job finished is late. */
  lateWriteMs: 5_000,
} as const;

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
const same = (a: number[] | undefined, b: number[]) =>
  a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);

/** The invariants over a run's history. Pure: every fact was gathered before. */
export function judge(h: History): Violation[] {
  const out: Violation[] = [];
  const byId = new Map<string, JobFacts>();
  for (const j of h.jobs) {
    if (!j.id) {
      out.push({ invariant: 'accepted', detail: `submission ${j.key} never accepted by the API` });
      continue;
    }
    byId.set(j.id, j);
    const r = j.record;
    if (!r) {
      out.push({ invariant: 'no-lost-job', jobId: j.id, detail: 'accepted, but no record on the broker' });
      continue;
    }
    if (!isFinalState(r.state)) {
      if (r.state === 'queued' && !j.hasTask)
        out.push({ invariant: 'no-orphan', jobId: j.id, detail: `queued without a task (${r.message ?? ''})` });
      else if (h.now - Date.parse(r.updatedAt) > LIMITS.stuckMs)
        out.push({
          invariant: 'no-starved-job',
          jobId: j.id,
          detail: `${r.state} and unchanged for ${Math.round((h.now - Date.parse(r.updatedAt)) / 1000)} s`,
        });
      continue;
    }
    if (j.hasTask)
      out.push({
        invariant: 'published',
        jobId: j.id,
        detail: `${r.state}, but its task is still queued (publish owed)`,
      });
    if (j.lastStatus !== undefined && j.lastStatus !== r.state)
      out.push({ invariant: 'events', jobId: j.id, detail: `record ${r.state}, last status event ${j.lastStatus}` });
    if (r.state !== 'succeeded') continue;
    const all = range(j.epochs);
    if (!same(j.metricsEpochs, all))
      out.push({
        invariant: 'metrics-each-epoch-once',
        jobId: j.id,
        detail: `metrics epochs ${JSON.stringify(j.metricsEpochs)}`,
      });
    if (!same(j.checkpoints, all))
      out.push({
        invariant: 'checkpoints-complete',
        jobId: j.id,
        detail: `checkpoints ${JSON.stringify(j.checkpoints)}`,
      });
  }
  for (const key of h.sweepsNotAccepted)
    out.push({ invariant: 'accepted', detail: `sweep ${key} never accepted by the API` });
  for (const id of h.unexpected)
    out.push({ invariant: 'no-duplicate', jobId: id, detail: 'a record no submission made' });
  out.push(...lateWrites(h.writes, byId));
  const { baseline, max, end } = h.consumers;
  if (end < 0) out.push({ invariant: 'consumers-bounded', detail: 'the consumers at the end could not be counted' });
  else if (end - baseline > LIMITS.consumersAtEnd)
    out.push({ invariant: 'consumers-bounded', detail: `${end} consumers at the end, baseline ${baseline}` });
  if (max - baseline > LIMITS.consumersDuring)
    out.push({ invariant: 'consumers-bounded', detail: `${max} consumers at peak, baseline ${baseline}` });
  if (h.maxRssMb > LIMITS.maxRssMb)
    out.push({ invariant: 'memory-bounded', detail: `a process reached ${h.maxRssMb} MiB` });
  return out;
}

/**
 * No late write from a superseded attempt: nothing lands in an attempt's folder after the
 * job finished, no attempt later than the final one exists, and the job's root keys are
 * written only once the job is final (by its final group, or by the trainer its task came
 * back to when that group's publish was cut short: either copies the final attempt's files).
 */
function lateWrites(writes: Write[], jobs: Map<string, JobFacts>): Violation[] {
  const out: Violation[] = [];
  for (const w of writes) {
    const m = /^jobs\/([^/]+)\/(?:attempts\/(\d+)\/)?/.exec(w.key);
    const r = m && jobs.get(m[1]!)?.record;
    if (!m || !r) continue;
    const finishedAt = r.finishedAt ? Date.parse(r.finishedAt) : Infinity;
    if (m[2] !== undefined) {
      const attempt = Number(m[2]);
      if (attempt > r.attempt)
        out.push({
          invariant: 'no-late-write',
          jobId: r.id,
          detail: `${w.client} wrote ${w.key}, beyond the final attempt ${r.attempt}`,
        });
      else if (w.at > finishedAt + LIMITS.lateWriteMs)
        out.push({
          invariant: 'no-late-write',
          jobId: r.id,
          detail: `${w.client} wrote ${w.key} ${w.at - finishedAt} ms after the job ended`,
        });
    } else if (!isFinalState(r.state) || w.at < finishedAt) {
      out.push({
        invariant: 'no-late-write',
        jobId: r.id,
        detail: `${w.client} wrote root key ${w.key} of a ${r.state} job before it ended`,
      });
    }
  }
  return out;
}
