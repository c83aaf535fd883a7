import { describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { headWithoutBody } from './index.js';

describe('headWithoutBody', () => {
  it("cancels a streaming GET body on HEAD, keeping GET's status and headers", async () => {
    let cancelled = 0;
    const app = new Hono().use('*', headWithoutBody()).get('/stream', (c) => {
      const body = new ReadableStream({ pull: () => new Promise(() => undefined), cancel: () => void cancelled++ });
      return c.body(body, 200, { 'Content-Type': 'text/event-stream' });
    });
    const head = await app.request('/stream', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('text/event-stream');
    expect(head.body).toBeNull();
    expect(cancelled).toBe(1);
    const get = await app.request('/stream');
    expect(get.body).not.toBeNull();
    expect(cancelled).toBe(1);
    await get.body!.cancel();
  });
});
