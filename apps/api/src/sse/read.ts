/** One Server-Sent Event as the client sees it. */
export interface SseMessage {
  /** `event:` field; 'message' when absent. */
  event: string;
  data: string;
  /** `id:` of this event, if it had one (the stream sequence for our job events). */
  id?: string;
}

/**
 * Parses a text/event-stream body (the HTML spec's rules: LF, CRLF or CR line ends,
 * multi-line data, comments, events without data skipped). Used by the CLI and the tests;
 * the dashboard has the same few lines in plain JS. Ends when the body ends or `signal` aborts.
 */
export async function* readSse(body: ReadableStream<Uint8Array>, signal?: AbortSignal): AsyncGenerator<SseMessage> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const onAbort = () => void reader.cancel().catch(() => undefined);
  signal?.addEventListener('abort', onAbort, { once: true });
  let buffer = '';
  let event = '';
  let data: string[] = [];
  let id: string | undefined;
  let ended = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      // A trailing CR may be the first half of CRLF: keep it until more text arrives.
      const lines = buffer.split(/\r\n|\n|\r(?!$)/);
      buffer = done ? '' : (lines.pop() ?? '');
      for (const line of lines) {
        if (line === '') {
          if (data.length > 0) yield { event: event || 'message', data: data.join('\n'), ...(id !== undefined && { id }) };
          event = '';
          data = [];
          id = undefined;
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'data') data.push(value);
        else if (field === 'event') event = value;
        else if (field === 'id' && !value.includes('\0')) id = value;
      }
      if (done) {
        ended = true;
        return;
      }
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    // Left early (break, error): cancel the body so the server sees the client go.
    if (!ended) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}
