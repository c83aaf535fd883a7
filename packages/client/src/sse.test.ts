import { describe, expect, it } from 'vitest';
import { readSse, type SseMessage } from './sse.js';

function body(chunks: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(enc.encode(c));
      controller.close();
    },
  });
}

async function all(chunks: string[]): Promise<SseMessage[]> {
  const out: SseMessage[] = [];
  for await (const m of readSse(body(chunks))) out.push(m);
  return out;
}

describe('readSse', () => {
  it('parses events split anywhere across chunks, with every kind of line end', async () => {
    const text =
      'event: status\ndata: {"a":1}\nid: 7\n\n: keep-alive\n\r\n' +
      'event: epoch\r\ndata: x\r\ndata:y\r\nid: 8\r\n\r\n' +
      'data: plain\r\rdata: last\n\n';
    const expected = [
      { event: 'status', data: '{"a":1}', id: '7' },
      { event: 'epoch', data: 'x\ny', id: '8' },
      { event: 'message', data: 'plain' },
      { event: 'message', data: 'last' },
    ];
    expect(await all([text])).toEqual(expected);
    for (let cut = 1; cut < text.length; cut++) {
      expect(await all([text.slice(0, cut), text.slice(cut)]), `cut at ${cut}`).toEqual(expected);
    }
  });

  it('skips events without data and an unterminated last event', async () => {
    expect(await all(['event: x\n\n', 'data: half'])).toEqual([]);
  });

  it('decodes multi-byte characters split between chunks', async () => {
    const bytes = new TextEncoder().encode('data: é✓\n\n');
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (const b of bytes) c.enqueue(new Uint8Array([b]));
        c.close();
      },
    });
    const out: SseMessage[] = [];
    for await (const m of readSse(stream)) out.push(m);
    expect(out).toEqual([{ event: 'message', data: 'é✓' }]);
  });
});
