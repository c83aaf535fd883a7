import { describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { createApiClient } from './api-client.js';

const URL = 'http://127.0.0.1:9';
const hints = { url: 'Set API_URL or --api-url', token: 'API_TOKEN or --token' };
const app = new Hono().post('/v1/jobs', (c) => c.json({ id: 'j-1' }, 201));

type Answer = () => Response | Error;

/** A fetch that answers from a list, one fresh response (or thrown error) per call, the last one repeated. */
function scripted(answers: Answer[]) {
  let calls = 0;
  const f = (async () => {
    const a = answers[Math.min(calls++, answers.length - 1)]!();
    if (a instanceof Error) throw a;
    return a;
  }) as unknown as typeof fetch;
  return { fetch: f, calls: () => calls };
}

const json =
  (status: number, body: unknown, headers: Record<string, string> = {}) =>
  () =>
    new Response(JSON.stringify(body), { status, headers });
const refused = () => Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
const reset = () => Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } });

async function submit(answers: Answer[], token?: string) {
  const s = scripted(answers);
  const retries: string[] = [];
  const api = createApiClient<typeof app>(URL, { fetch: s.fetch, hints, ...(token && { token }) });
  const result: { ok?: unknown; error?: string; status?: number } = await api
    .callRetrying(() => api.client.v1.jobs.$post(), { firstDelayMs: 1, onRetry: (why) => retries.push(why) })
    .then(async (r) => ({ ok: (await r.json()) as unknown }))
    .catch((err: Error & { status?: number }) => ({ error: err.message, status: err.status }));
  return { ...result, calls: s.calls(), retries };
}

describe('callRetrying: 4xx are final at once, only network failures and 502/503/504 are retried', () => {
  it('401 without and with a token: one try, the meaning at once', async () => {
    expect(await submit([json(401, { error: 'missing or invalid bearer token' })])).toEqual({
      error: `the API at ${URL} needs a token (401): set API_TOKEN or --token`,
      status: 401,
      calls: 1,
      retries: [],
    });
    expect((await submit([json(401, {})], 'x')).error).toBe(
      `the API at ${URL} refused the token (401): check API_TOKEN or --token`,
    );
  });

  it('429 with Retry-After, 403, 404, 409, 413: one try each, their meaning', async () => {
    const tooMany = await submit([
      json(429, { error: '5 jobs are waiting (MAX_QUEUED); try again later' }, { 'Retry-After': '30' }),
    ]);
    expect(tooMany).toMatchObject({
      error: '5 jobs are waiting (MAX_QUEUED); try again later (429; the API asks to wait 30 s)',
      status: 429,
      calls: 1,
    });
    expect(await submit([json(403, { error: 'read-only token' })])).toMatchObject({
      error: `the API at ${URL} does not allow this (403): read-only token`,
      calls: 1,
    });
    expect(await submit([json(404, { error: "job 'j-x' not found" })])).toMatchObject({
      error: "job 'j-x' not found",
      calls: 1,
    });
    expect(await submit([json(409, { error: 'Idempotency-Key reused with another spec' })])).toMatchObject({
      status: 409,
      calls: 1,
    });
    expect(
      await submit([() => new Response('too big', { status: 413, statusText: 'Payload Too Large' })]),
    ).toMatchObject({
      error: 'the request is too large for the API (413): HTTP 413 Payload Too Large',
      calls: 1,
    });
  });

  it('503 then success: retried; 503 every time: the final message says it was the 503', async () => {
    expect(
      await submit([json(503, { error: 'cluster unavailable, try again' }), json(201, { id: 'j-1' })]),
    ).toMatchObject({ ok: { id: 'j-1' }, calls: 2, retries: ['HTTP 503'] });
    const down = await submit([json(503, { error: 'cluster unavailable, try again' })]);
    expect(down.calls).toBe(6);
    expect(down.error).toMatch(/^cluster unavailable, try again \(HTTP 503, after 6 tries in \d+ s\)$/);
  });

  it('a dropped connection is retried and named; nothing listening at the URL fails at once', async () => {
    const dropped = await submit([reset]);
    expect(dropped.calls).toBe(6);
    expect(dropped.error).toMatch(
      new RegExp(
        `^cannot reach the API at ${URL} \\(ECONNRESET, after 6 tries in \\d+ s\\): is it running\\? Set API_URL`,
      ),
    );
    expect(await submit([refused])).toMatchObject({
      error: `cannot reach the API at ${URL} (ECONNREFUSED): is it running? Set API_URL or --api-url`,
      calls: 1,
    });
  });
});
