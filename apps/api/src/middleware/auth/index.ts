import type { MiddlewareHandler } from 'hono';
import { timingSafeEqual } from 'hono/utils/buffer';
import { HttpError } from '../../http-error.js';
import { parseBearer } from './bearer.js';

export { parseBearer, type BearerHeader } from './bearer.js';

export interface BearerAuthOptions {
  /** The shared secret (API_TOKEN). Unset: every request passes. */
  token?: string;
  /** API_PUBLIC_READ: GET and HEAD pass without a token; writes still need it. */
  publicRead?: boolean;
  /** Paths that never need a token (health check, the dashboard's static shell). */
  publicPaths?: readonly string[];
}

const UNAUTHORIZED = { error: 'missing or invalid bearer token' };

/**
 * `Authorization: Bearer <token>` on every request but the public ones, read by
 * `parseBearer` (one rule for the Node and edge shells) and compared in constant time
 * (hono's hash-then-compare). Errors are JSON with RFC 6750's challenges: 401 for a
 * missing or wrong token, 400 for a malformed header.
 */
export function bearerAuth(options: BearerAuthOptions = {}): MiddlewareHandler {
  const { token, publicRead = false, publicPaths = [] } = options;
  if (!token) return async (_c, next) => next();
  const open = new Set(publicPaths);
  return async (c, next) => {
    if (open.has(c.req.path)) return next();
    if (publicRead && (c.req.method === 'GET' || c.req.method === 'HEAD')) return next();
    const header = parseBearer(c.req.header('Authorization'));
    if (header.kind === 'missing')
      throw new HttpError(401, UNAUTHORIZED, { 'WWW-Authenticate': 'Bearer realm="mnist"' });
    if (header.kind === 'malformed') {
      const error = 'malformed Authorization header: expected "Bearer <token>"';
      throw new HttpError(400, { error, issues: [] }, { 'WWW-Authenticate': 'Bearer error="invalid_request"' });
    }
    if (!(await timingSafeEqual(token, header.token))) {
      throw new HttpError(401, UNAUTHORIZED, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
    }
    return next();
  };
}
