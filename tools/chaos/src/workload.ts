import { sleep } from '@mnist/core';
import { between, seededRandom } from './rng.js';

/** One job the workload asked for: its key, spec, and the id once the API accepted it. */
export interface Submission {
  key: string;
  spec: Record<string, unknown>;
  id?: string;
  tries: number;
}

/** A sweep the workload asked for; once accepted, its jobs are Submissions too. */
interface SweepSubmission {
  key: string;
  request: Record<string, unknown>;
  accepted: boolean;
  tries: number;
}

const TRANSPORTS = ['auto', 'tcp', 'nats'] as const;
/** One sweep in this many submissions. */
const SWEEP_EVERY = 8;

/**
 * A steady stream of small jobs and sweeps through the APIs (round robin), one every
 * `gapMs` (a seeded range): 1-3 replicas (some a range from 1), step sync or local SGD, each transport. Each
 * has an Idempotency-Key, so a submit that failed (API killed, broker frozen) is retried
 * with the same key until accepted: a retry can never make a second job or sweep.
 */
export function startWorkload(apiUrl: () => string, o: { seed: number; gapMs: [number, number] }) {
  const rand = seededRandom(o.seed ^ 0x5eed);
  const jobs: Submission[] = [];
  const sweeps: SweepSubmission[] = [];
  const stop = new AbortController();
  const post = async (path: string, key: string, body: unknown) => {
    const res = await fetch(`${apiUrl()}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': key },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    }).catch(() => undefined);
    if (res?.ok) return (await res.json()) as Record<string, unknown>;
    // 4xx but 429 is the API's final word on what was asked: the workload's own mistake.
    if (res && res.status >= 400 && res.status < 500 && res.status !== 429)
      throw new Error(`${path}: ${res.status} ${await res.text()}`);
    await res?.body?.cancel();
    return undefined;
  };
  const submitJob = async (s: Submission) => {
    s.tries++;
    s.id = ((await post('/v1/jobs', s.key, s.spec)) as { id?: string } | undefined)?.id;
  };
  const submitSweep = async (s: SweepSubmission) => {
    s.tries++;
    const summary = (await post('/v1/sweeps', s.key, s.request)) as
      { jobs: { id: string; spec: Record<string, unknown> }[] } | undefined;
    if (!summary) return;
    s.accepted = true;
    for (const j of summary.jobs) jobs.push({ key: `${s.key}/${j.id}`, spec: j.spec, id: j.id, tries: s.tries });
  };
  const retryFailed = async () => {
    for (const j of jobs) if (!j.id) await submitJob(j);
    for (const s of sweeps) if (!s.accepted) await submitSweep(s);
  };
  const base = { trainLimit: 256, testLimit: 128, batchSize: 64 };
  const loop = (async () => {
    for (let n = 1; !stop.signal.aborted; n++) {
      const key = `chaos-${o.seed}-${n}`;
      if (n % SWEEP_EVERY === 0) {
        const request = { models: ['mlp'], seeds: 2, lr: [0.05, 0.1], base: { ...base, epochs: 1, seed: n } };
        const s: SweepSubmission = { key, request, accepted: false, tries: 0 };
        sweeps.push(s);
        await submitSweep(s);
      } else {
        const replicas = between(rand, 1, 3);
        const spec = {
          model: 'mlp',
          ...base,
          epochs: between(rand, 1, 3),
          replicas,
          seed: n,
          transport: TRANSPORTS[between(rand, 0, TRANSPORTS.length - 1)],
          ...(replicas > 1 && rand() < 0.3 && { sync: { every: 2 } }),
          // Some take a replica range: they shrink, grow and take over from a lost rank 0 in place.
          ...(replicas > 1 && rand() < 0.4 && { minReplicas: 1 }),
        };
        const s: Submission = { key, spec, tries: 0 };
        jobs.push(s);
        await submitJob(s);
      }
      await retryFailed();
      await sleep(between(rand, ...o.gapMs), stop.signal);
    }
  })();
  loop.catch(() => undefined); // a refused submit surfaces from stop(), which awaits the loop
  return {
    /** Every job asked for: single submits, and the jobs of accepted sweeps. */
    jobs,
    /** Sweeps never accepted (their jobs, if the API made any before failing, count as unexpected). */
    unacceptedSweeps: () => sweeps.filter((s) => !s.accepted).map((s) => s.key),
    /** Stops submitting new work and retries the unaccepted submits until `untilMs` has passed. */
    async stop(untilMs: number): Promise<void> {
      stop.abort();
      await loop;
      const deadline = Date.now() + untilMs;
      while ((jobs.some((s) => !s.id) || sweeps.some((s) => !s.accepted)) && Date.now() < deadline) {
        await retryFailed();
        await sleep(1_000);
      }
    },
  };
}
