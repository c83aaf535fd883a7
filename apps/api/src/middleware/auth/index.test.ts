import { describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { errorHandler } from '../../http-error.js';
import { bearerAuth, type BearerAuthOptions } from './index.js';
import { silentLogger } from '@mnist/core';

const TOKEN = 'correct-horse-battery-staple';
const quiet = silentLogger;

function app(o: BearerAuthOptions) {
  const a = new Hono();
  a.onError(errorHandler(quiet));
  return a
    .use('*', bearerAuth(o))
    .get('/healthz', (c) => c.text('ok'))
    .get('/data', (c) => c.text('data'))
    .post('/data', (c) => c.text('written'));
}

const auth = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } });

describe('bearerAuth', () => {
  it('lets everything through when no token is configured', async () => {
    const a = app({});
    expect((await a.request('/data')).status).toBe(200);
    expect((await a.request('/data', { method: 'POST' })).status).toBe(200);
  });

  it('needs the exact token on every non-public route, with a JSON 401 and a challenge', async () => {
    const a = app({ token: TOKEN, publicPaths: ['/healthz'] });
    expect((await a.request('/healthz')).status).toBe(200);
    const missing = await a.request('/data');
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="mnist"');
    expect(await missing.json()).toEqual({ error: 'missing or invalid bearer token' });
    for (const init of [auth('wrong'), auth(TOKEN + 'x'), auth(TOKEN.slice(0, -1))]) {
      const res = await a.request('/data', init);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
      expect(await res.json()).toEqual({ error: 'missing or invalid bearer token' });
    }
    // Not a bearer header at all (RFC 6750: invalid_request).
    for (const init of [
      { headers: { Authorization: TOKEN } },
      { headers: { Authorization: `Basic ${TOKEN}` } },
      auth('has spaces in it'),
    ]) {
      const res = await a.request('/data', init);
      expect(res.status).toBe(400);
      expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_request"');
      expect(await res.json()).toEqual({
        error: 'malformed Authorization header: expected "Bearer <token>"',
        issues: [],
      });
    }
    expect(await (await a.request('/data', auth(TOKEN))).text()).toBe('data');
    expect((await a.request('/data', { headers: { authorization: `bearer ${TOKEN}` } })).status).toBe(200);
  });

  it('with publicRead, opens GET but not writes', async () => {
    const a = app({ token: TOKEN, publicRead: true });
    expect((await a.request('/data')).status).toBe(200);
    expect((await a.request('/data', { method: 'POST' })).status).toBe(401);
    expect((await a.request('/data', { method: 'POST', ...auth(TOKEN) })).status).toBe(200);
  });
});
