import type { MiddlewareHandler } from 'hono';

/**
 * HEAD answers with GET's status and headers and no body. Hono runs the GET handler for a
 * HEAD and drops its body without cancelling it, so a streaming route (an event stream, a
 * log tail) would keep following, and keep its broker consumer, for good: cancel the body
 * here, which ends whatever produces it.
 */
export function headWithoutBody(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    if (c.req.method !== 'HEAD' || !c.res.body) return;
    const res = c.res;
    await res.body!.cancel().catch(() => undefined);
    c.res = new Response(null, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}
