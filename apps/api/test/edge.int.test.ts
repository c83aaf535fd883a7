import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connectNats } from '@mnist/cluster';
import { readSse, type SseMessage } from '@mnist/client';
import { FAST_TEST_ENV, spawnTrainer, type TrainerProcess } from '@mnist/dev-cluster';
import { NATS_NAMES, parseMetricsJsonl, type EpochRecord, type JobRecord, type TrainerInfo } from '@mnist/protocol';
import { startNatsServer, startS3Server, type NatsServerHandle, type S3ServerHandle } from '@mnist/testing';
import { promtoolCheck } from '../src/testing/promtool.js';
import { spawnEdgeApi, type EdgeApiProcess } from './edge-harness.js';
import { eventOf, expectSucceededStream } from './job-stream.js';
import { rawRequest } from './raw-http.js';

/**
 * The API as a Worker in workerd (wrangler dev --local, as `npm run api:edge` runs it),
 * over NATS on WebSocket and S3 over fetch, with real trainer processes on TCP.
 */
const TOKEN = 'edge-integration-token-7d1e4b2a';
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const SMALL = { model: 'mlp', epochs: 2, trainLimit: 512, testLimit: 128, replicas: 1, seed: 5 } as const;

let nats: NatsServerHandle;
let s3: S3ServerHandle;
let edge: EdgeApiProcess;
let perRequest: EdgeApiProcess | undefined;
const trainers: TrainerProcess[] = [];
let nc: NatsConnection;
let jsm: JetStreamManager;
let base: string;

beforeAll(async () => {
  nats = await startNatsServer({ websocket: true });
  s3 = await startS3Server();
  const env = { ...s3.env, ...FAST_TEST_ENV, API_TOKEN: TOKEN, SSE_KEEPALIVE_MS: '1000' };
  // Trainers own the broker resources and the bucket: they start first, over TCP.
  for (const id of ['t1', 't2']) trainers.push(spawnTrainer({ id, env: { ...env, NATS_URL: nats.url } }));
  await Promise.all(trainers.map((t) => t.waitFor((l) => l.event === 'trainer.ready', 90_000)));
  edge = await spawnEdgeApi({ ...env, NATS_URL: nats.wsUrl! });
  base = edge.url;
  nc = await connectNats({ servers: [nats.url], name: 'edge-test' });
  jsm = await jetstreamManager(nc);
});

afterAll(async () => {
  await perRequest?.stop();
  await edge?.stop();
  await nc?.close();
  for (const t of trainers) if (t.child.exitCode === null && t.child.signalCode === null) t.child.kill('SIGKILL');
  await Promise.all(trainers.map((t) => t.exited));
  await nats?.stop();
  await s3?.stop();
});

async function api<T = unknown>(
  path: string,
  init: RequestInit = {},
  at = base,
): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(at + path, {
    ...init,
    headers: { ...AUTH, ...(init.headers as Record<string, string>) },
    signal: AbortSignal.timeout(20_000),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, headers: res.headers };
}

const submit = (spec: object, headers: Record<string, string> = {}) =>
  api<JobRecord>('/v1/jobs', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(spec),
  });

async function events(id: string, o: { lastEventId?: string; at?: string } = {}) {
  const res = await fetch(`${o.at ?? base}/v1/jobs/${id}/events`, {
    headers: { ...AUTH, ...(o.lastEventId && { 'Last-Event-ID': o.lastEventId }) },
    signal: AbortSignal.timeout(120_000),
  });
  const messages: SseMessage[] = [];
  if (res.status === 200) for await (const m of readSse(res.body!)) messages.push(m);
  return { status: res.status, messages };
}

/** Consumers on the events stream: one per open event stream (each follow has its own). */
const eventConsumers = async () => (await jsm.streams.info(NATS_NAMES.eventsStream)).state.consumer_count;

async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(v)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Opens the event stream of a parked job (needs 3 trainers, 2 live: the stream stays open,
 * following live events) at `url`, drops the client, and expects its broker consumer gone.
 */
async function expectStreamReleasesConsumer(url: string, seed: number): Promise<void> {
  const parked = await submit({ ...SMALL, seed, replicas: 3 });
  expect(parked.body.state).toBe('parked');
  const before = await eventConsumers();
  const ac = new AbortController();
  const res = await fetch(`${url}/v1/jobs/${parked.body.id}/events`, { headers: AUTH, signal: ac.signal });
  expect(res.status).toBe(200);
  await res.body!.getReader().read();
  expect(await until('consumer while open', eventConsumers, (n) => n === before + 1, 10_000)).toBe(before + 1);
  ac.abort();
  expect(await until('consumers after the client left', eventConsumers, (n) => n === before, 15_000)).toBe(before);
  expect((await api(`/v1/jobs/${parked.body.id}/cancel`, { method: 'POST' })).status).toBe(200);
}

describe('the API as a Worker in workerd (Durable Object mode)', () => {
  let finished: JobRecord;

  it('runs a job to succeeded over SSE, and resumes the stream with Last-Event-ID', async () => {
    const created = await submit(SMALL);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ state: 'queued', spec: { model: 'mlp' } });
    expect(created.headers.get('location')).toBe(`/v1/jobs/${created.body.id}`);
    const { status, messages } = await events(created.body.id);
    expect(status).toBe(200);
    const epochs = expectSucceededStream(messages, 2);

    const firstEpoch = messages.findIndex((m) => m.event === 'epoch');
    const resumed = await events(created.body.id, { lastEventId: messages[firstEpoch]!.id! });
    expect(resumed.messages).toEqual(messages.slice(firstEpoch + 1));
    expect((await events(created.body.id, { lastEventId: messages.at(-1)!.id! })).status).toBe(204);

    finished = (await api<JobRecord>(`/v1/jobs/${created.body.id}`)).body;
    expect(finished).toMatchObject({ state: 'succeeded', epoch: 2 });
    const metrics = await api<{ records: EpochRecord[] }>(`/v1/jobs/${finished.id}/metrics`);
    expect(metrics.body.records).toEqual(epochs);
  });

  it('lists jobs and trainers, lists and downloads artifacts (S3 over fetch)', async () => {
    const jobs = await api<{ jobs: JobRecord[] }>('/v1/jobs');
    expect(jobs.body.jobs.map((j) => j.id)).toContain(finished.id);
    const trainerList = await api<{ trainers: TrainerInfo[] }>('/v1/trainers');
    expect(trainerList.body.trainers.map((t) => t.id).sort()).toEqual(['t1', 't2']);

    const list = await api<{ artifacts: Array<{ key: string; url: string }> }>(`/v1/jobs/${finished.id}/artifacts`);
    const keys = list.body.artifacts.map((a) => a.key);
    for (const k of ['spec.json', 'metrics.jsonl', 'report.md', 'curves.png', 'checkpoints/epoch-002/model.json'])
      expect(keys).toContain(k);
    const file = await fetch(base + list.body.artifacts.find((a) => a.key === 'metrics.jsonl')!.url, { headers: AUTH });
    expect(file.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
    expect(parseMetricsJsonl(await file.text()).map((r) => r.epoch)).toEqual([1, 2]);
    const png = await fetch(`${base}/v1/jobs/${finished.id}/artifacts/curves.png`, { headers: AUTH });
    expect(png.headers.get('content-type')).toBe('image/png');
    expect(new TextDecoder().decode(new Uint8Array(await png.arrayBuffer()).subarray(1, 4))).toBe('PNG');
    expect((await api(`/v1/jobs/${finished.id}/artifacts/nothing.txt`)).status).toBe(404);
  });

  it('serves /metrics that promtool accepts, and the dashboard with its CSP', async () => {
    const res = await fetch(`${base}/metrics`, { headers: AUTH });
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toMatch(/^mnist_jobs\{state="succeeded"\} [1-9]/m);
    expect(text).toContain('mnist_trainers_up 2');
    expect(text).toContain(`mnist_job_epoch{job_id="${finished.id}",model="mlp"} 2`);
    expect(text).toMatch(/^mnist_api_requests_total\{method="POST",route="\/v1\/jobs",status="201"\} [1-9]/m);
    expect(promtoolCheck(text)).toEqual({ status: 0, output: '' });

    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'; script-src 'self'");
    expect(await page.text()).toContain('dashboard.js');
  });

  it('answers 401, 400 (with issues), 404, 409, 413 and 415 as the Node API does', async () => {
    // The challenges of the Node API (middleware/auth): no token, and a wrong one.
    for (const [headers, challenge] of [
      [{}, 'Bearer realm="mnist"'],
      [{ Authorization: 'Bearer wrong-token' }, 'Bearer error="invalid_token"'],
    ] as Array<[Record<string, string>, string]>) {
      const res = await fetch(`${base}/v1/jobs`, { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe(challenge);
      expect(await res.json()).toEqual({ error: 'missing or invalid bearer token' });
    }
    const bad = await submit({ model: 'vgg', epochs: -1 });
    expect(bad.status).toBe(400);
    const body = bad.body as unknown as { error: string; issues: Array<{ path: string }> };
    expect(body.error).toBe('invalid job spec');
    expect(body.issues.map((i) => i.path)).toEqual(expect.arrayContaining(['model', 'epochs']));
    expect(await api('/v1/jobs/j-does-not-exist')).toMatchObject({
      status: 404,
      body: { error: "job 'j-does-not-exist' not found" },
    });
    expect(await api(`/v1/jobs/${finished.id}/cancel`, { method: 'POST' })).toMatchObject({
      status: 409,
      body: { error: `job '${finished.id}' is already succeeded` },
    });
    const keyed = await submit({ ...SMALL, seed: 9, replicas: 3 }, { 'Idempotency-Key': 'edge-key-1' });
    expect(keyed.status).toBe(201);
    expect((await submit({ ...SMALL, seed: 10, replicas: 3 }, { 'Idempotency-Key': 'edge-key-1' })).status).toBe(409);
    expect(await submit({ ...SMALL, padding: 'x'.repeat(70_000) })).toMatchObject({
      status: 413,
      body: { error: 'request body over 65536 bytes' },
    });
    const text = await api('/v1/jobs', {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain' },
      body: JSON.stringify(SMALL),
    });
    expect(text).toMatchObject({ status: 415, body: { error: 'send the job spec as application/json' } });
    expect((await api(`/v1/jobs/${keyed.body.id}/cancel`, { method: 'POST' })).status).toBe(200);
  });

  it('an event stream whose client goes away releases its broker consumer', () =>
    expectStreamReleasesConsumer(base, 21));

  it('200 HEADs and 30 streams whose clients left release their consumers promptly', async () => {
    const parked = await submit({ ...SMALL, seed: 23, replicas: 3 });
    expect(parked.body.state).toBe('parked');
    const before = await eventConsumers();
    for (let i = 0; i < 200; i++) {
      const res = await fetch(`${base}/v1/jobs/${parked.body.id}/events`, { method: 'HEAD', headers: AUTH });
      expect(res.status).toBe(200);
    }
    const clients = await Promise.all(
      Array.from({ length: 30 }, async () => {
        const ac = new AbortController();
        const res = await fetch(`${base}/v1/jobs/${parked.body.id}/events`, { headers: AUTH, signal: ac.signal });
        await res.body!.getReader().read();
        return ac;
      }),
    );
    expect(await until('consumers while open', eventConsumers, (n) => n >= before + 30, 15_000)).toBeGreaterThanOrEqual(
      before + 30,
    );
    for (const ac of clients) ac.abort();
    // Keep-alive is 1 s here: released within a few keep-alive periods, not at cancel time.
    expect(
      await until('consumers after the clients left', eventConsumers, (n) => n <= before, 10_000),
    ).toBeLessThanOrEqual(before);
    expect((await api(`/v1/jobs/${parked.body.id}/cancel`, { method: 'POST' })).status).toBe(200);
  });

  it('reads the token the same with a trailing space or tab as the Node API (middleware/auth/bearer.ts)', async () => {
    for (const tail of ['', ' ', '\t', ' \t']) {
      expect(
        (await rawRequest(base, '/v1/jobs', { headers: { Authorization: `Bearer ${TOKEN}${tail}` } })).status,
        JSON.stringify(tail),
      ).toBe(200);
    }
    expect((await rawRequest(base, '/v1/jobs', { headers: { Authorization: `Bearer\t${TOKEN}` } })).status).toBe(400);
  });

  it('shows a NATS restart as 503, then recovers on a rebuilt connection', async () => {
    const down = nats.restart(12_000);
    const during = await until(
      'a 503 while NATS is down',
      () => api<{ error: string }>(`/v1/jobs/${finished.id}`),
      (r) => r.status === 503,
      15_000,
    );
    expect(during.body.error).toBe('cluster unavailable, try again');
    await down;
    const after = await until(
      'recovery',
      () => api<JobRecord>(`/v1/jobs/${finished.id}`),
      (r) => r.status === 200,
      45_000,
    );
    expect(after.body.state).toBe('succeeded');
    // Down longer than the hub's reconnect budget (10 attempts, about 6 s): its connection
    // closed for good, and a request after the restart built a new one.
    const log = edge.output();
    expect(log).toContain('"event":"edge.connection_closed"');
    expect(log.slice(log.lastIndexOf('"event":"edge.connection_closed"'))).toContain('"event":"nats.connected"');
    // Writes work again too: a new job runs to the end.
    const again = await until(
      'a submit after recovery',
      () => submit({ ...SMALL, epochs: 1, seed: 31 }),
      (r) => r.status === 201,
      30_000,
    );
    const { messages } = await events(again.body.id);
    expect((eventOf(messages.at(-1)!) as { state: string }).state).toBe('succeeded');
  });

  it('a connect that fails is a 503 that names the reason, not a 500', async () => {
    const broken = await spawnEdgeApi({ ...s3.env, API_TOKEN: TOKEN, NATS_URL: `ws://127.0.0.1:${nats.port}` });
    try {
      const res = await api<{ error: string; reason: string }>('/v1/jobs', {}, broken.url);
      expect(res.status).toBe(503);
      expect(res.body.error).toBe('cluster unavailable, try again');
      expect(res.body.reason.length).toBeGreaterThan(0);
      expect(res.body.reason).not.toContain('127.0.0.1');
    } finally {
      await broken.stop();
    }
  });
});

describe('a broker without the cluster set up', () => {
  it('is a 503 that says to start a trainer, and the edge creates nothing on it', async () => {
    await using bare = await startNatsServer({ websocket: true });
    const hub = await spawnEdgeApi({ ...s3.env, API_TOKEN: TOKEN, NATS_URL: bare.wsUrl! });
    try {
      const res = await api<{ error: string; reason: string }>('/v1/jobs', {}, hub.url);
      expect(res.status).toBe(503);
      expect(res.body.reason).toMatch(/not set up yet .*start one \(npm run trainer\)/);
    } finally {
      await hub.stop();
    }
    const probe = await connectNats({ servers: [bare.url], name: 'edge-test-probe' });
    try {
      const names: string[] = [];
      for await (const s of (await jetstreamManager(probe)).streams.list()) names.push(s.config.name);
      expect(names).toEqual([]);
    } finally {
      await probe.close();
    }
  });
});

describe('the per-request-connection fallback (EDGE_MODE=per-request)', () => {
  it('answers the same lists and event streams as the Durable Object', async () => {
    perRequest = await spawnEdgeApi({
      ...s3.env,
      API_TOKEN: TOKEN,
      SSE_KEEPALIVE_MS: '1000',
      NATS_URL: nats.wsUrl!,
      EDGE_MODE: 'per-request',
    });
    const viaHub = await api<{ jobs: JobRecord[] }>('/v1/jobs');
    const direct = await api<{ jobs: JobRecord[] }>('/v1/jobs', {}, perRequest.url);
    expect(direct.status).toBe(200);
    expect(direct.body.jobs.map((j) => [j.id, j.state])).toEqual(viaHub.body.jobs.map((j) => [j.id, j.state]));
    const done = viaHub.body.jobs.find((j) => j.state === 'succeeded')!;
    const a = await events(done.id);
    const b = await events(done.id, { at: perRequest.url });
    expect(b.messages).toEqual(a.messages);
  });

  it('an event stream whose client goes away releases its consumer here too', () =>
    expectStreamReleasesConsumer(perRequest!.url, 41));
});
