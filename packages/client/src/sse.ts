import { createParser, type EventSourceMessage } from 'eventsource-parser';

/** One Server-Sent Event as the client sees it. */
export interface SseMessage {
  /** `event:` field; 'message' when absent. */
  event: string;
  data: string;
  /** `id:` of this event, if it had one (the stream sequence for our job events). */
  id?: string;
}

/**
 * Reads a text/event-stream body as messages. Parsing (line ends, multi-line data,
 * comments, field rules) is eventsource-parser's; this adds what a fetch body needs:
 * streaming UTF-8 decoding, the HTML spec's rule that an event without data is not
 * dispatched, and cancelling the body when the caller stops early or `signal` aborts,
 * so the server sees the client go. Used by the CLI and the tests; the dashboard uses
 * the browser's own parsing.
 */
export async function* readSse(body: ReadableStream<Uint8Array>, signal?: AbortSignal): AsyncGenerator<SseMessage> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const onAbort = () => void reader.cancel().catch(() => undefined);
  signal?.addEventListener('abort', onAbort, { once: true });
  let ready: SseMessage[] = [];
  const parser = createParser({
    onEvent: (e: EventSourceMessage) => {
      if (e.data === '') return;
      ready.push({ event: e.event || 'message', data: e.data, ...(e.id !== undefined && { id: e.id }) });
    },
  });
  let ended = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      parser.feed(done ? decoder.decode() : decoder.decode(value, { stream: true }));
      const batch = ready;
      ready = [];
      yield* batch;
      if (done) {
        ended = true;
        return;
      }
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (!ended) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}
