import type { MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { Logger } from '@mnist/core';
import type { RequestObservation } from '../../deps.js';

declare module 'hono' {
  interface ContextVariableMap {
    /** Set by `observe`: echoed as X-Request-Id, logged, and quoted in 5xx bodies. */
    requestId: string;
  }
}

export interface ObserveOptions {
  log?: Logger;
  /** Called once per request with the route pattern (bounded label values for Prometheus). */
  record?: (o: RequestObservation) => void;
  now?: () => number;
}

/** The label for requests no route answered: raw paths would make label values unbounded. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Request id, one log line and one metrics observation per request. The log names the route
 * pattern and never the query string or headers, so secrets a client puts there stay out of
 * the logs. For a stream (SSE) the duration is the time to the response head.
 */
export function observe(options: ObserveOptions = {}): MiddlewareHandler {
  const now = options.now ?? (() => performance.now());
  return async (c, next) => {
    const started = now();
    const requestId = crypto.randomUUID();
    c.set('requestId', requestId);
    await next();
    c.header('X-Request-Id', requestId);
    // The handler's pattern, also when a middleware answered first (401, 413).
    const route = matchedRoutes(c).findLast((r) => r.method !== 'ALL')?.path ?? UNMATCHED_ROUTE;
    const o = { method: c.req.method, route, status: c.res.status, seconds: (now() - started) / 1000 };
    options.record?.(o);
    const quiet = o.status < 400 && (o.method === 'GET' || o.method === 'HEAD');
    options.log?.[quiet ? 'debug' : 'info']('http.request', { requestId, ...o, ms: Math.round(o.seconds * 1000) });
  };
}
