import { describe, expect, it } from 'vitest';
import { withBufferedBody } from './buffer-body.js';

const streamOf = (...parts: string[]) =>
  new ReadableStream<Uint8Array>({
    start(c) {
      for (const p of parts) c.enqueue(new TextEncoder().encode(p));
      c.close();
    },
  });

const post = (body: ReadableStream<Uint8Array> | string) =>
  new Request('http://x/v1/jobs', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Custom': '1' },
    body,
    duplex: 'half',
  } as RequestInit);

describe('withBufferedBody', () => {
  it('keeps a body within the limit whole, with method and headers', async () => {
    const r = await withBufferedBody(post(streamOf('{"a":', '1}')), 100);
    expect(r.method).toBe('POST');
    expect(r.headers.get('x-custom')).toBe('1');
    expect(await r.text()).toBe('{"a":1}');
  });

  it('cuts a larger body at limit + 1 bytes, so the app still sees it is too large', async () => {
    const r = await withBufferedBody(post(streamOf('x'.repeat(60), 'y'.repeat(60))), 100);
    expect((await r.arrayBuffer()).byteLength).toBe(101);
  });

  it('leaves a request without a body alone', async () => {
    const get = new Request('http://x/v1/jobs');
    expect(await withBufferedBody(get)).toBe(get);
  });
});
