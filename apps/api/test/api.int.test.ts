import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMetricsJsonl, type EpochRecord, type JobEvent, type JobRecord, type TrainerInfo } from '@mnist/protocol';
import { S3Store } from '@mnist/storage';
import { S3RVER_CREDENTIALS } from '@mnist/testing';
import { readSse, type SseMessage } from '@mnist/client';
import { promtoolCheck } from '../src/testing/promtool.js';
import { startTestCluster, type TestCluster } from './harness.js';
import { expectSucceededStream } from './job-stream.js';
import { rawRequest } from './raw-http.js';

const TOKEN = 'integration-test-token-5f0c2a9e';
const AUTH = { Authorization: `Bearer ${TOKEN}` };
/** Small, quick jobs: a couple of seconds per epoch on a 2-core machine. */
const SMALL = { model: 'mlp', epochs: 2, trainLimit: 1024, testLimit: 256, replicas: 2, seed: 3 } as const;
/** Long enough to still be running when the test acts on it; it is cancelled. */
const LONG = { model: 'lenet5', epochs: 50, trainLimit: 2048, testLimit: 256, replicas: 2 } as const;

let cluster: TestCluster;
let A: string;
let B: string;

beforeAll(async () => {
  cluster = await startTestCluster({ trainers: 2, apis: 2, env: { API_TOKEN: TOKEN, SSE_KEEPALIVE_MS: '1000' } });
  [A, B] = cluster.apis.map((a) => a.url) as [string, string];
});
afterAll(async () => {
  await cluster?.stop();
});

async function api<T = unknown>(
  base: string,
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; body: T }> {
  const res = await fetch(base + path, { ...init, headers: { ...AUTH, ...(init.headers as Record<string, string>) } });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

const submit = (base: string, spec: object) =>
  api<JobRecord>(base, '/v1/jobs', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(spec),
  });

/** Reads a job's event stream to its end (the server closes it after the final status). */
async function events(
  base: string,
  id: string,
  o: { lastEventId?: string; until?: (m: SseMessage) => boolean; timeoutMs?: number } = {},
) {
  const res = await fetch(`${base}/v1/jobs/${id}/events`, {
    headers: { ...AUTH, ...(o.lastEventId && { 'Last-Event-ID': o.lastEventId }) },
    signal: AbortSignal.timeout(o.timeoutMs ?? 120_000),
  });
  const messages: SseMessage[] = [];
  if (res.status !== 200) return { status: res.status, messages };
  for await (const m of readSse(res.body!)) {
    messages.push(m);
    if (o.until?.(m)) break;
  }
  return { status: res.status, messages };
}

const parsed = (m: SseMessage) => JSON.parse(m.data) as JobEvent;

describe('the API over a real nats-server, s3rver and trainer processes', () => {
  let finished: JobRecord;
  let streamed: SseMessage[];

  it('runs a job: queued -> running -> succeeded, with ordered epoch events, metrics and artifacts', async () => {
    const created = await submit(A, SMALL);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ state: 'queued', spec: { model: 'mlp', replicas: 2 } });
    const id = created.body.id;

    const { status, messages } = await events(A, id);
    expect(status).toBe(200);
    streamed = messages;
    const ids = messages.map((m) => Number(m.id));
    expect(ids.every((n, i) => Number.isInteger(n) && (i === 0 || n > ids[i - 1]!))).toBe(true);
    const epochs = expectSucceededStream(messages, 2);
    expect(messages.filter((m) => m.event === 'progress').length).toBeGreaterThan(0);
    // Every epoch event comes after the first running status and before the final one.
    const firstRunning = messages.findIndex(
      (m) => m.event === 'status' && (parsed(m) as { state: string }).state === 'running',
    );
    expect(messages.findIndex((m) => m.event === 'epoch')).toBeGreaterThan(firstRunning);
    expect(messages.at(-1)!.event).toBe('status');

    const job = await api<JobRecord>(A, `/v1/jobs/${id}`);
    expect(job.body).toMatchObject({ id, state: 'succeeded', epoch: 2, attempt: 1 });
    expect(job.body.trainers).toHaveLength(2);
    finished = job.body;

    const metrics = await api<{ records: EpochRecord[] }>(A, `/v1/jobs/${id}/metrics`);
    expect(metrics.body.records).toEqual(epochs);
    expect(metrics.body.records[1]!.testAcc).toBeGreaterThan(0.1);

    const list = await api<{ artifacts: Array<{ key: string; url: string }> }>(A, `/v1/jobs/${id}/artifacts`);
    const keys = list.body.artifacts.map((x) => x.key);
    for (const k of ['spec.json', 'metrics.jsonl', 'report.md', 'curves.png', 'checkpoints/epoch-002/model.json'])
      expect(keys).toContain(k);
    const file = await fetch(A + list.body.artifacts.find((x) => x.key === 'metrics.jsonl')!.url, { headers: AUTH });
    expect(file.headers.get('content-type')).toBe('application/x-ndjson');
    expect(parseMetricsJsonl(await file.text())).toEqual(epochs);
    const png = await fetch(`${A}/v1/jobs/${id}/artifacts/curves.png`, { headers: AUTH });
    expect(png.headers.get('content-type')).toBe('image/png');
    expect(
      Buffer.from(await png.arrayBuffer())
        .subarray(1, 4)
        .toString(),
    ).toBe('PNG');
  });

  it('is stateless: the other instance answers the same and resumes the stream from Last-Event-ID', async () => {
    const id = finished.id;
    expect((await api(B, `/v1/jobs/${id}`)).body).toEqual((await api(A, `/v1/jobs/${id}`)).body);
    expect((await api(B, `/v1/jobs/${id}/metrics`)).body).toEqual((await api(A, `/v1/jobs/${id}/metrics`)).body);

    const firstEpoch = streamed.findIndex((m) => m.event === 'epoch');
    const resumed = await events(B, id, { lastEventId: streamed[firstEpoch]!.id! });
    expect(resumed.messages).toEqual(streamed.slice(firstEpoch + 1));
    const done = await events(B, id, { lastEventId: streamed.at(-1)!.id! });
    expect(done.status).toBe(204);
  });

  it('resumes a live stream mid-job without gaps or repeats', async () => {
    const created = await submit(A, { ...SMALL, epochs: 3, seed: 4 });
    const id = created.body.id;
    // Read up to the first epoch event on A, drop the connection, continue on B.
    const head = await events(A, id, { until: (m) => m.event === 'epoch' });
    const tail = await events(B, id, { lastEventId: head.messages.at(-1)!.id! });
    const whole = await events(A, id);
    expect([...head.messages, ...tail.messages]).toEqual(whole.messages);
    expect(
      whole.messages.filter((m) => m.event === 'epoch').map((m) => (parsed(m) as { record: EpochRecord }).record.epoch),
    ).toEqual([1, 2, 3]);
  });

  it('cancels a running job (its stream ends cancelled, the trainers come free), and 409 after that', async () => {
    const id = (await submit(A, LONG)).body.id;
    const upTo = await events(A, id, { until: (m) => m.event === 'progress' });
    expect(upTo.status).toBe(200);
    const live = events(B, id, { lastEventId: upTo.messages.at(-1)!.id! });
    const cancelled = await api<JobRecord>(A, `/v1/jobs/${id}/cancel`, { method: 'POST' });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.state).toBe('cancelled');
    const rest = await live;
    expect(rest.messages.at(-1)!.event).toBe('status');
    expect(parsed(rest.messages.at(-1)!)).toMatchObject({ state: 'cancelled' });

    const again = await api<{ error: string }>(A, `/v1/jobs/${id}/cancel`, { method: 'POST' });
    expect(again).toEqual({ status: 409, body: { error: `job '${id}' is already cancelled` } });
    const finishedAgain = await api(B, `/v1/jobs/${finished.id}/cancel`, { method: 'POST' });
    expect(finishedAgain.status).toBe(409);

    // Both trainers let go of the job (heartbeats every 500 ms).
    const deadline = Date.now() + 30_000;
    let trainers: TrainerInfo[] = [];
    while (Date.now() < deadline) {
      trainers = (await api<{ trainers: TrainerInfo[] }>(B, '/v1/trainers')).body.trainers;
      if (trainers.length === 2 && trainers.every((t) => t.state === 'idle')) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(trainers.map((t) => [t.id, t.state])).toEqual([
      ['t1', 'idle'],
      ['t2', 'idle'],
    ]);
  });

  it('answers 400, 401, 404 and 413 with JSON bodies and no stack traces', async () => {
    const bad = await submit(A, { model: 'vgg', epochs: -1, surprise: true });
    expect(bad.status).toBe(400);
    const body = bad.body as unknown as { error: string; issues: Array<{ path: string; message: string }> };
    expect(body.error).toBe('invalid job spec');
    expect(body.issues.map((i) => i.path)).toEqual(expect.arrayContaining(['model', 'epochs']));

    for (const headers of [{}, { Authorization: 'Bearer wrong-token' }, { Authorization: `Bearer ${TOKEN}x` }] as Array<
      Record<string, string>
    >) {
      const res = await fetch(`${A}/v1/jobs`, { headers });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: 'missing or invalid bearer token' });
    }
    expect((await fetch(`${A}/healthz`)).status).toBe(200);

    const missing = await api(A, '/v1/jobs/j-does-not-exist');
    expect(missing).toEqual({ status: 404, body: { error: "job 'j-does-not-exist' not found" } });
    expect((await api(A, '/v1/jobs/j-does-not-exist/events')).status).toBe(404);

    const huge = await submit(A, { ...SMALL, padding: 'x'.repeat(70_000) });
    expect(huge).toEqual({ status: 413, body: { error: 'request body over 65536 bytes' } });

    const all = cluster.apis.map((a) => a.output()).join('\n');
    expect(all).not.toContain(TOKEN);
  });

  it('reads the token the same with a trailing space or tab (the one rule of middleware/auth/bearer.ts)', async () => {
    for (const tail of ['', ' ', '\t', ' \t']) {
      expect(
        (await rawRequest(A, '/v1/jobs', { headers: { Authorization: `Bearer ${TOKEN}${tail}` } })).status,
        JSON.stringify(tail),
      ).toBe(200);
    }
    expect((await rawRequest(A, '/v1/jobs', { headers: { Authorization: `Bearer\t${TOKEN}` } })).status).toBe(400);
  });

  it('refuses artifact paths that leave jobs/<id>/, sent raw over HTTP', async () => {
    const victim = finished.id;
    const other = (await submit(A, { ...SMALL, epochs: 1 })).body.id;
    const s3 = await S3Store.connect({ ...cluster.s3Config, credentials: S3RVER_CREDENTIALS });
    await s3.put('outside/secret.txt', 'TOP-SECRET');
    s3.destroy();
    const raw = (path: string) => rawRequest(A, path, { headers: AUTH });
    expect((await raw(`/v1/jobs/${victim}/artifacts/spec.json`)).body).toContain('"model"');
    // Plain and %2e dot segments are resolved by URL parsing before routing: they can only
    // name another route (with the same auth), never a key outside a job's prefix.
    for (const path of [
      `/v1/jobs/${other}/artifacts/../../../outside/secret.txt`,
      `/v1/jobs/${other}/artifacts/%2e%2e/%2e%2e/%2e%2e/outside/secret.txt`,
      `/v1/jobs/${other}/artifacts/..%2F..%2Foutside%2Fsecret.txt`,
      `/v1/jobs/${other}/artifacts/..%2F${victim}%2Fspec.json`,
      `/v1/jobs/${other}/artifacts/%2e%2e%2f${victim}%2fspec.json`,
      `/v1/jobs/${other}/artifacts/%252e%252e%252f${victim}%252fspec.json`,
      `/v1/jobs/${other}/artifacts/..%5c${victim}%5cspec.json`,
      `/v1/jobs/${other}/artifacts//jobs/${victim}/spec.json`,
      `/v1/jobs/${other}/artifacts/%2Foutside%2Fsecret.txt`,
      `/v1/jobs/${other}%2F..%2F${victim}/artifacts/spec.json`,
      `/v1/jobs/..%2Foutside/artifacts/secret.txt`,
      `/v1/jobs/..%2F..%2Foutside%2Fsecret.txt%00/artifacts/x`,
    ]) {
      const r = await raw(path);
      expect([400, 404], path).toContain(r.status);
      expect(r.body, path).not.toMatch(/TOP-SECRET|"model"/);
    }
  });

  it('serves Prometheus metrics that promtool accepts, computed from KV and S3', async () => {
    const res = await fetch(`${A}/metrics`, { headers: AUTH });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(promtoolCheck(text)).toEqual({ status: 0, output: '' });
    const last = (await api<{ records: EpochRecord[] }>(A, `/v1/jobs/${finished.id}/metrics`)).body.records.at(-1)!;
    expect(text).toMatch(/^mnist_jobs\{state="succeeded"\} [1-9]/m);
    expect(text).toMatch(/^mnist_jobs\{state="cancelled"\} 1$/m);
    expect(text).toContain(
      `mnist_job_accuracy_ratio{job_id="${finished.id}",model="mlp",split="test"} ${last.testAcc}`,
    );
    expect(text).toContain(`mnist_job_epoch{job_id="${finished.id}",model="mlp"} 2`);
    expect(text).toMatch(/^mnist_trainers_up 2$/m);
    expect(text).toMatch(/^mnist_api_requests_total\{method="GET",route="\/v1\/jobs\/:id",status="200"\} \d+/m);
    expect(text).toMatch(
      /^mnist_api_request_duration_seconds_count\{method="POST",route="\/v1\/jobs",status="201"\} \d+/m,
    );
    expect(text).not.toMatch(/route="\/v1\/jobs\/j-/); // patterns, never raw paths
  });

  it('shuts down on SIGTERM: open streams end, the process exits 0', async () => {
    const b = cluster.apis[1]!;
    const id = (await submit(A, LONG)).body.id;
    const res = await fetch(`${B}/v1/jobs/${id}/events`, { headers: AUTH });
    expect(res.status).toBe(200);
    const reading = (async () => {
      const got: SseMessage[] = [];
      for await (const m of readSse(res.body!)) got.push(m);
      return got;
    })().catch(() => 'broken' as const);
    await new Promise((r) => setTimeout(r, 200));
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
    const got = await reading;
    expect(got).not.toBe('broken');
    // Ended by the shutdown, not by the job: no final status in it.
    expect(
      (got as SseMessage[])
        .map((m) => m.event === 'status' && parsed(m))
        .filter((e) => e && ['succeeded', 'failed', 'cancelled'].includes((e as { state: string }).state)),
    ).toEqual([]);
    expect(b.lines.map((l) => l.event)).toContain('api.stopped');
    expect((await api(A, `/v1/jobs/${id}/cancel`, { method: 'POST' })).status).toBe(200);
  });
});
