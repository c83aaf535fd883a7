import type { MiddlewareHandler } from 'hono';
import { bearerAuth as honoBearerAuth } from 'hono/bearer-auth';
import { HTTPException } from 'hono/http-exception';
import { HttpError } from '../../http-error.js';

export interface BearerAuthOptions {
  /** The shared secret (API_TOKEN). Unset: every request passes. */
  token?: string;
  /** API_PUBLIC_READ: GET and HEAD pass without a token; writes still need it. */
  publicRead?: boolean;
  /** Paths that never need a token (health check, the dashboard's static shell). */
  publicPaths?: readonly string[];
}

/**
 * `Authorization: Bearer <token>` on every request but the public ones. The check itself
 * is hono/bearer-auth's (RFC 6750 parsing, a timing-safe comparison of hashes): what this
 * adds is what it lacks — public paths, public reads — and the API's JSON error body:
 * 401 for a missing or wrong token, 400 for a malformed header, each with its challenge.
 */
export function bearerAuth(options: BearerAuthOptions = {}): MiddlewareHandler {
  const { token, publicRead = false, publicPaths = [] } = options;
  if (!token) return async (_c, next) => next();
  const check = honoBearerAuth({ token, realm: 'mnist' });
  const open = new Set(publicPaths);
  return async (c, next) => {
    if (open.has(c.req.path)) return next();
    if (publicRead && (c.req.method === 'GET' || c.req.method === 'HEAD')) return next();
    try {
      // Only the check: the route runs below, outside this catch.
      await check(c, async () => undefined);
    } catch (err) {
      if (!(err instanceof HTTPException)) throw err;
      const challenge = err.getResponse().headers.get('WWW-Authenticate') ?? 'Bearer realm="mnist"';
      const error = err.status === 400 ? 'malformed Authorization header: expected "Bearer <token>"' : 'missing or invalid bearer token';
      throw new HttpError(err.status === 400 ? 400 : 401, { error, ...(err.status === 400 && { issues: [] }) }, { 'WWW-Authenticate': challenge }, { cause: err });
    }
    return next();
  };
}
