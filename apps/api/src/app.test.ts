import { describe, expect, it } from 'vitest';
import type { JobRecord } from '@mnist/protocol';
import { silentLogger, type Logger } from '@mnist/core';
import { createApp, type AppOptions } from './app.js';
import type { ApiDeps } from './deps.js';
import { MemoryArtifacts, MemoryCluster } from './testing/memory-deps.js';

const TOKEN = 'a-token-of-some-length-0123456789';
const SPEC = { model: 'mlp', epochs: 2, trainLimit: 512, testLimit: 256 };

const TRAINER = {
  id: 't1',
  host: 'h',
  pid: 1,
  backend: 'cpu',
  state: 'idle',
  startedAt: '2030-01-01T00:00:00Z',
  lastSeen: '2030-01-01T00:00:00Z',
} as const;

function setup(options: AppOptions = {}, extra: Partial<ApiDeps> = {}) {
  const cluster = new MemoryCluster();
  // One live trainer: 1-replica jobs can be placed, bigger ones are parked.
  cluster.trainerList = [TRAINER];
  const artifacts = new MemoryArtifacts();
  const errors: unknown[] = [];
  const log: Logger = { ...silentLogger, error: (_e, f) => void errors.push(f), child: () => log };
  const app = createApp({ cluster, artifacts, ...extra }, { log, ...options });
  return { app, cluster, artifacts, errors };
}

const json = (body: unknown, headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

async function submitted(app: ReturnType<typeof setup>['app']): Promise<JobRecord> {
  const res = await app.request('/v1/jobs', json(SPEC));
  expect(res.status).toBe(201);
  return (await res.json()) as JobRecord;
}

describe('jobs', () => {
  it('submits a valid spec: 201, Location, a queued record with defaults filled', async () => {
    const { app } = setup();
    const res = await app.request('/v1/jobs', json(SPEC));
    expect(res.status).toBe(201);
    const job = (await res.json()) as JobRecord;
    expect(res.headers.get('location')).toBe(`/v1/jobs/${job.id}`);
    expect(job).toMatchObject({
      state: 'queued',
      spec: { model: 'mlp', batchSize: 64, replicas: 1, optimizer: { type: 'sgd', lr: 0.01 } },
    });
    expect(await (await app.request(`/v1/jobs/${job.id}`)).json()).toEqual(job);
    const list = (await (await app.request('/v1/jobs')).json()) as { jobs: JobRecord[] };
    expect(list.jobs.map((j) => j.id)).toEqual([job.id]);
    expect(((await (await app.request('/v1/jobs?state=running')).json()) as { jobs: unknown[] }).jobs).toEqual([]);
  });

  it('400 with every issue for a bad spec, bad JSON or a bad filter; 415 for another content type', async () => {
    const { app } = setup();
    let res = await app.request(
      '/v1/jobs',
      json({ model: 'resnet', epochs: 0, replicas: 4, batchSize: 2, colour: 'red' }),
    );
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; issues: Array<{ path: string; message: string }> };
    expect(body.error).toBe('invalid job spec');
    expect(body.issues.map((i) => i.path).sort()).toEqual(['(root)', 'epochs', 'model'].sort());
    expect(body.issues.find((i) => i.path === 'model')!.message).toMatch(/lenet5, mlp, lenet5-reg/);

    res = await app.request('/v1/jobs', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"model": ',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'Malformed JSON in request body', issues: [] });

    res = await app.request('/v1/jobs', {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain' },
      body: JSON.stringify(SPEC),
    });
    expect(res.status).toBe(415);

    res = await app.request('/v1/jobs?state=sleeping');
    expect(res.status).toBe(400);
    expect(((await res.json()) as { issues: Array<{ path: string }> }).issues[0]!.path).toBe('state');
  });

  it('413 over the body limit, announced or streamed', async () => {
    const { app, cluster } = setup({ bodyLimitBytes: 1024 });
    const big = JSON.stringify({ ...SPEC, pad: 'x'.repeat(2000) });
    let res = await app.request('/v1/jobs', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Content-Length': String(big.length) },
      body: big,
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ error: 'request body over 1024 bytes' });
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(big));
        c.close();
      },
    });
    res = await app.request('/v1/jobs', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(cluster.records.size).toBe(0);
  });

  it('404 for unknown or impossible ids; cancel once, then 409', async () => {
    const { app } = setup();
    for (const path of [
      '/v1/jobs/j-nope',
      '/v1/jobs/a.b',
      '/v1/jobs/j-nope/metrics',
      '/v1/jobs/j-nope/artifacts',
      '/v1/jobs/j-nope/events',
    ]) {
      const res = await app.request(path);
      expect(res.status, path).toBe(404);
      expect(((await res.json()) as { error: string }).error).toMatch(/not found/);
    }
    expect((await app.request('/v1/jobs/j-nope/cancel', { method: 'POST' })).status).toBe(404);
    const job = await submitted(app);
    const first = await app.request(`/v1/jobs/${job.id}/cancel`, { method: 'POST' });
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ id: job.id, state: 'cancelled' });
    const again = await app.request(`/v1/jobs/${job.id}/cancel`, { method: 'POST' });
    expect(again.status).toBe(409);
    expect(await again.json()).toEqual({ error: `job '${job.id}' is already cancelled` });
    expect((await app.request('/v1/nothing-here')).status).toBe(404);
  });

  it('serves metrics.jsonl records; corrupt lines are skipped with a warning, never a 502 naming the key', async () => {
    const { app, artifacts } = setup();
    const job = await submitted(app);
    expect(await (await app.request(`/v1/jobs/${job.id}/metrics`)).json()).toEqual({
      jobId: job.id,
      state: 'queued',
      records: [],
    });
    const rec = {
      epoch: 1,
      trainLoss: 0.5,
      trainAcc: 0.8,
      testLoss: 0.4,
      testAcc: 0.85,
      seconds: 2,
      imagesPerSec: 300,
      backend: 'cpu',
    };
    artifacts.put(`jobs/${job.id}/metrics.jsonl`, JSON.stringify(rec) + '\n');
    expect(
      ((await (await app.request(`/v1/jobs/${job.id}/metrics`)).json()) as { records: unknown[] }).records,
    ).toEqual([rec]);
    artifacts.put(
      `jobs/${job.id}/metrics.jsonl`,
      `${JSON.stringify(rec)}\n{"epoch": "one"}\nnot json\n${JSON.stringify({ ...rec, epoch: 2 })}\n`,
    );
    const res = await app.request(`/v1/jobs/${job.id}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({
      jobId: job.id,
      state: 'queued',
      records: [rec, { ...rec, epoch: 2 }],
      skippedLines: 2,
    });
    expect(text).not.toContain('metrics.jsonl');
  });

  it('lists jobs (name, tags, final/best test accuracy, duration), filtered by model, tag, sweep, state', async () => {
    const { app, cluster, artifacts } = setup();
    const post = async (spec: object) =>
      (await (await app.request('/v1/jobs', json({ ...SPEC, ...spec }))).json()) as JobRecord;
    const a = await post({ name: 'base', tags: { team: 'vision', try: '1' }, note: 'first' });
    const b = await post({ model: 'lenet5', tags: { team: 'vision' } });
    await post({ model: 'lenet5', sweepId: 's-abc' });
    const rec = (epoch: number, testAcc: number) =>
      JSON.stringify({
        epoch,
        trainLoss: 0.5,
        trainAcc: 0.8,
        testLoss: 0.4,
        testAcc,
        seconds: 2,
        imagesPerSec: 300,
        backend: 'cpu',
      });
    artifacts.put(`jobs/${a.id}/metrics.jsonl`, `${rec(1, 0.9)}\n${rec(2, 0.95)}\n${rec(3, 0.93)}\n`);
    cluster.put({
      ...cluster.records.get(a.id)!,
      state: 'succeeded',
      epoch: 3,
      startedAt: '2030-01-01T00:00:00Z',
      finishedAt: '2030-01-01T00:01:30.5Z',
    });
    type Item = JobRecord & { finalTestAcc?: number; bestTestAcc?: number; durationSec?: number };
    const list = async (q: string) => ((await (await app.request(`/v1/jobs${q}`)).json()) as { jobs: Item[] }).jobs;
    const first = (await list('?model=mlp'))[0]!;
    expect(first).toMatchObject({
      id: a.id,
      spec: { name: 'base', tags: { team: 'vision', try: '1' }, note: 'first' },
      finalTestAcc: 0.93,
      bestTestAcc: 0.95,
      durationSec: 90.5,
    });
    expect((await list('?model=mlp')).map((j) => j.id)).toEqual([a.id]);
    expect((await list('?tag=team=vision')).map((j) => j.id).sort()).toEqual([a.id, b.id].sort());
    expect((await list('?tag=team=vision&tag=try=1')).map((j) => j.id)).toEqual([a.id]);
    expect((await list('?sweep=s-abc')).map((j) => j.spec.model)).toEqual(['lenet5']);
    expect(await list('?state=succeeded&model=lenet5')).toEqual([]);
    expect(b).not.toHaveProperty('finalTestAcc');
    const bad = await app.request('/v1/jobs?tag=novalue');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ issues: [{ path: 'tag.0', message: 'must be key=value' }] });
  });

  it('Idempotency-Key: the same key returns the same job; another spec under it is 409; a bad key is 400', async () => {
    const { app, cluster } = setup();
    const key = { 'Idempotency-Key': '6f1c1b1e-2d1e-4a5b-9c55-0b1b1c2d3e4f' };
    const a = await app.request('/v1/jobs', json(SPEC, key));
    const b = await app.request('/v1/jobs', json(SPEC, key));
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(((await b.json()) as JobRecord).id).toBe(((await a.json()) as JobRecord).id);
    expect(cluster.records.size).toBe(1);
    const other = await app.request('/v1/jobs', json({ ...SPEC, epochs: 3 }, key));
    expect(other.status).toBe(409);
    expect(((await other.json()) as { error: string }).error).toMatch(/different spec/);
    const bad = await app.request('/v1/jobs', json(SPEC, { 'Idempotency-Key': 'k'.repeat(256) }));
    expect(bad.status).toBe(400);
    expect(cluster.records.size).toBe(1);
  });

  it("admission: 400 over MAX_REPLICAS, 429 past MAX_QUEUED; parks a job the fleet can't place, with why", async () => {
    const { app } = setup({ maxReplicas: 8, maxQueued: 3 });
    const tooBig = await app.request('/v1/jobs', json({ ...SPEC, replicas: 9 }));
    expect(tooBig.status).toBe(400);
    expect(((await tooBig.json()) as { issues: Array<{ path: string; message: string }> }).issues).toEqual([
      {
        path: 'replicas',
        message: 'must be at most 8, the largest group this cluster is configured for (MAX_REPLICAS)',
      },
    ]);
    const parked = await app.request('/v1/jobs', json({ ...SPEC, replicas: 4 }));
    expect(parked.status).toBe(201);
    expect(await parked.json()).toMatchObject({ state: 'parked', message: 'needs 4 trainers, 1 live' });
    // minReplicas is what placement needs.
    expect(await (await app.request('/v1/jobs', json({ ...SPEC, replicas: 4, minReplicas: 1 }))).json()).toMatchObject({
      state: 'queued',
    });
    await submitted(app);
    const full = await app.request('/v1/jobs', json(SPEC));
    expect(full.status).toBe(429);
    expect(full.headers.get('retry-after')).toBe('30');
    expect(((await full.json()) as { error: string }).error).toMatch(/3 jobs are waiting/);
  });

  it('lists a page at a time: ?limit, ?cursor (nextCursor), ?state; a bad cursor or limit is 400', async () => {
    const { app } = setup();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await submitted(app)).id);
    const page = async (q: string) =>
      (await (await app.request(`/v1/jobs${q}`)).json()) as { jobs: JobRecord[]; nextCursor?: string };
    const seen: string[] = [];
    let p = await page('?limit=2');
    for (;;) {
      seen.push(...p.jobs.map((j) => j.id));
      if (!p.nextCursor) break;
      p = await page(`?limit=2&cursor=${p.nextCursor}`);
    }
    expect(seen).toEqual([...ids].reverse());
    expect((await page('?state=parked')).jobs).toEqual([]);
    for (const q of ['?cursor=bm9wZQ', '?limit=0', '?limit=x', '?state=lost'])
      expect((await app.request(`/v1/jobs${q}`)).status).toBe(400);
  });
});

describe('artifacts', () => {
  it("lists and downloads a job's files, and nothing outside jobs/<id>/", async () => {
    const { app, artifacts } = setup();
    const a = await submitted(app);
    const b = await submitted(app);
    artifacts.put(`jobs/${a.id}/report.md`, '# report A');
    artifacts.put(`jobs/${a.id}/checkpoints/epoch-001/model.json`, '{"a":1}');
    artifacts.put(`jobs/${b.id}/metrics.jsonl`, 'SECRET-OF-B');
    artifacts.put('jobs-elsewhere/x', 'SECRET-ROOT');

    const list = (await (await app.request(`/v1/jobs/${a.id}/artifacts`)).json()) as {
      artifacts: Array<{ key: string; url: string }>;
    };
    expect(list.artifacts).toEqual([
      { key: 'checkpoints/epoch-001/model.json', url: `/v1/jobs/${a.id}/artifacts/checkpoints/epoch-001/model.json` },
      { key: 'report.md', url: `/v1/jobs/${a.id}/artifacts/report.md` },
    ]);
    const md = await app.request(`/v1/jobs/${a.id}/artifacts/report.md`);
    expect(md.status).toBe(200);
    expect(md.headers.get('content-type')).toBe('text/markdown; charset=utf-8');
    expect(md.headers.get('content-security-policy')).toMatch(/sandbox/);
    expect(await md.text()).toBe('# report A');
    expect(await (await app.request(`/v1/jobs/${a.id}/artifacts/checkpoints/epoch-001/model.json`)).text()).toBe(
      '{"a":1}',
    );
    expect((await app.request(`/v1/jobs/${a.id}/artifacts/curves.png`)).status).toBe(404);

    // URL parsing resolves plain and %2e dot segments before routing (-> no route, 404);
    // whatever survives it as an encoded '/', '\\', '%' or NUL is refused by the key check (400).
    const escapes: Array<[string, number]> = [
      [`../${b.id}/metrics.jsonl`, 404],
      [`%2e%2e/${b.id}/metrics.jsonl`, 404],
      [`checkpoints/../../${b.id}/metrics.jsonl`, 404],
      [`..%2F${b.id}%2Fmetrics.jsonl`, 400],
      [`%252e%252e%252f${b.id}%252fmetrics.jsonl`, 400],
      [`..%5C${b.id}%5Cmetrics.jsonl`, 400],
      [`%2Fjobs%2F${b.id}%2Fmetrics.jsonl`, 400],
      [`/jobs/${b.id}/metrics.jsonl`, 400],
      [`report.md%00.png`, 400],
    ];
    for (const [e, status] of escapes) {
      const res = await app.request(`/v1/jobs/${a.id}/artifacts/${e}`);
      expect(res.status, e).toBe(status);
      expect(await res.text(), e).not.toMatch(/SECRET/);
    }
    // The id itself cannot carry a path either.
    const viaId = await app.request(`/v1/jobs/${a.id}%2F..%2F${b.id}/artifacts/metrics.jsonl`);
    expect(viaId.status).toBe(404);
  });
});

describe('auth', () => {
  it('needs the token everywhere but /healthz and the dashboard shell', async () => {
    const { app } = setup({ token: TOKEN }, { assets: { '/': { contentType: 'text/html', body: '<html></html>' } } });
    expect((await app.request('/healthz')).status).toBe(200);
    expect((await app.request('/')).status).toBe(200);
    for (const [path, method] of [
      ['/v1/jobs', 'GET'],
      ['/v1/jobs', 'POST'],
      ['/v1/trainers', 'GET'],
      ['/metrics', 'GET'],
      ['/v1/jobs/x/events', 'GET'],
      ['/v1/jobs/x/cancel', 'POST'],
      ['/nowhere', 'GET'],
    ] as const) {
      expect((await app.request(path, { method })).status, `${method} ${path}`).toBe(401);
    }
    const ok = await app.request('/v1/jobs', json(SPEC, { Authorization: `Bearer ${TOKEN}` }));
    expect(ok.status).toBe(201);
  });

  it('API_PUBLIC_READ opens GET routes only', async () => {
    const { app } = setup({ token: TOKEN, publicRead: true });
    expect((await app.request('/v1/jobs')).status).toBe(200);
    expect((await app.request('/v1/trainers')).status).toBe(200);
    expect((await app.request('/v1/jobs', json(SPEC))).status).toBe(401);
  });
});

describe('errors', () => {
  it('an unexpected failure is a bare 500 with a request id: no message, no stack', async () => {
    const { app, cluster, errors } = setup();
    cluster.jobs.list = async () => {
      throw new Error('secret internal detail at /srv/x.ts:1');
    };
    const res = await app.request('/v1/jobs');
    expect(res.status).toBe(500);
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['error', 'requestId']);
    expect(body.error).toBe('internal error');
    expect(body.requestId).toBe(res.headers.get('x-request-id'));
    expect(JSON.stringify(body)).not.toMatch(/secret|\.ts/);
    expect(errors).toHaveLength(1);
  });

  it('health and metrics answer from their deps', async () => {
    const metrics = {
      observe: () => undefined,
      render: async () => ({ contentType: 'text/plain; version=0.0.4', body: 'up 1\n' }),
    };
    const { app } = setup({}, { metrics, health: async () => ({ ok: false, checks: { nats: 'down' } }) });
    const h = await app.request('/healthz');
    expect(h.status).toBe(503);
    expect(await h.json()).toEqual({ ok: false, checks: { nats: 'down' } });
    const m = await app.request('/metrics');
    expect(m.headers.get('content-type')).toBe('text/plain; version=0.0.4');
    expect(await m.text()).toBe('up 1\n');
  });
});
