/** The largest API_BODY_LIMIT (env.ts): a body above it is refused whatever the setting. */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

/**
 * The request with its body read into memory, at most `max` + 1 bytes (enough for the
 * app's body limit to answer 413). A Worker that streams a body on to its Durable Object
 * and returns the object's early answer (a 413 before the body is read) fails with
 * "Can't read from request stream after response has been sent", which takes workerd
 * down; a body in memory has no stream left to read.
 */
export async function withBufferedBody(request: Request, max = MAX_BODY_BYTES): Promise<Request> {
  if (!request.body) return request;
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size <= max) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
  }
  if (size > max) await reader.cancel();
  const body = new Uint8Array(Math.min(size, max + 1));
  let at = 0;
  for (const c of chunks) {
    const part = c.subarray(0, body.length - at);
    body.set(part, at);
    at += part.length;
  }
  const headers = new Headers(request.headers);
  // The body may be cut short: let its length speak for itself.
  headers.delete('content-length');
  return new Request(request.url, { method: request.method, headers, body });
}
