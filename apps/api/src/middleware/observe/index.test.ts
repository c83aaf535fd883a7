import { describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { silentLogger, type Logger } from '@mnist/core';
import type { RequestObservation } from '../../deps.js';
import { observe, UNMATCHED_ROUTE } from './index.js';

describe('observe', () => {
  it('records the route pattern, status and duration, and sets a request id', async () => {
    const seen: RequestObservation[] = [];
    const lines: Array<[string, Record<string, unknown> | undefined]> = [];
    const log: Logger = {
      ...silentLogger,
      debug: (e, f) => void lines.push([e, f]),
      info: (e, f) => void lines.push([e, f]),
      child: () => log,
    };
    let t = 0;
    const sub = new Hono()
      .get('/:id', (c) => c.json({ id: c.req.param('id') }))
      .post('/:id/fail', (c) => c.json({ error: 'no' }, 409));
    const app = new Hono()
      .use('*', observe({ record: (o) => seen.push(o), log, now: () => (t += 250) }))
      .use('*', async (c, next) => (c.req.header('x-deny') ? c.json({ error: 'no' }, 401) : next()))
      .route('/v1/jobs', sub);

    const res = await app.request('/v1/jobs/j-123?secret=s');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    await app.request('/v1/jobs/j-9/fail', { method: 'POST' });
    await app.request('/nowhere/at/all');
    await app.request('/v1/jobs/j-1', { headers: { 'x-deny': '1' } });

    expect(seen).toEqual([
      { method: 'GET', route: '/v1/jobs/:id', status: 200, seconds: 0.25 },
      { method: 'POST', route: '/v1/jobs/:id/fail', status: 409, seconds: 0.25 },
      { method: 'GET', route: UNMATCHED_ROUTE, status: 404, seconds: 0.25 },
      { method: 'GET', route: '/v1/jobs/:id', status: 401, seconds: 0.25 },
    ]);
    expect(JSON.stringify(lines)).not.toMatch(/secret|j-123/);
    expect(lines.map(([e]) => e)).toEqual(['http.request', 'http.request', 'http.request', 'http.request']);
  });
});
