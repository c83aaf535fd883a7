import { sleep } from '@mnist/core';
import { between, seededRandom } from './rng.js';

/** One job the workload asked for: its key, spec, and the id once the API accepted it. */
export interface Submission {
  key: string;
  spec: Record<string, unknown>;
  id?: string;
  tries: number;
}

/**
 * A steady stream of small jobs through the API, one every `gapMs` (a seeded range). Each
 * has an Idempotency-Key, so a submit that failed (API killed, broker frozen) is retried
 * with the same key until accepted: a retry can never make a second job.
 */
export function startWorkload(apiUrl: () => string, o: { seed: number; gapMs: [number, number] }) {
  const rand = seededRandom(o.seed ^ 0x5eed);
  const jobs: Submission[] = [];
  const stop = new AbortController();
  const submit = async (s: Submission): Promise<void> => {
    s.tries++;
    const res = await fetch(`${apiUrl()}/v1/jobs`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': s.key },
      body: JSON.stringify(s.spec),
      signal: AbortSignal.timeout(10_000),
    }).catch(() => undefined);
    if (res?.ok) s.id = ((await res.json()) as { id: string }).id;
    else await res?.body?.cancel();
  };
  const loop = (async () => {
    for (let n = 1; !stop.signal.aborted; n++) {
      const spec = {
        model: 'mlp',
        epochs: between(rand, 1, 3),
        trainLimit: 256,
        testLimit: 128,
        batchSize: 64,
        replicas: between(rand, 1, 2),
        seed: n,
      };
      const s: Submission = { key: `chaos-${o.seed}-${n}`, spec, tries: 0 };
      jobs.push(s);
      await submit(s);
      // Earlier submits that failed: again, same key.
      for (const r of jobs) if (!r.id && r !== s) await submit(r);
      await sleep(between(rand, ...o.gapMs), stop.signal);
    }
  })();
  return {
    jobs,
    /** Stops submitting new jobs and retries the unaccepted ones until `untilMs` has passed. */
    async stop(untilMs: number): Promise<void> {
      stop.abort();
      await loop;
      const deadline = Date.now() + untilMs;
      while (jobs.some((s) => !s.id) && Date.now() < deadline) {
        for (const s of jobs) if (!s.id) await submit(s);
        await sleep(1_000);
      }
    },
  };
}
