import type { SSEStreamingApi } from 'hono/streaming';

/**
 * One signal for an SSE stream's end, whatever ends it: the client leaves (the stream's abort or
 * the request's signal), or the server shuts down. `release()` unhooks it from the long-lived
 * signals, so a finished stream leaves no listener behind.
 */
export function streamStop(
  stream: SSEStreamingApi,
  request: AbortSignal,
  shutdown: AbortSignal | undefined,
): { signal: AbortSignal; abort(): void; release(): void } {
  const stop = new AbortController();
  const abort = () => stop.abort();
  stream.onAbort(abort);
  request.addEventListener('abort', abort, { once: true });
  shutdown?.addEventListener('abort', abort, { once: true });
  if (shutdown?.aborted || request.aborted) abort();
  return {
    signal: stop.signal,
    abort,
    release: () => {
      request.removeEventListener('abort', abort);
      shutdown?.removeEventListener('abort', abort);
    },
  };
}
