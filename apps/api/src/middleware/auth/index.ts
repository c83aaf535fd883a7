import type { MiddlewareHandler } from 'hono';
import { HttpError } from '../../http-error.js';

export interface BearerAuthOptions {
  /** The shared secret (API_TOKEN). Unset: every request passes. */
  token?: string;
  /** API_PUBLIC_READ: GET and HEAD pass without a token; writes still need it. */
  publicRead?: boolean;
  /** Paths that never need a token (health check, the dashboard's static shell). */
  publicPaths?: readonly string[];
}

const DEFAULTS = { token: undefined, publicRead: false, publicPaths: [] } satisfies Required<Omit<BearerAuthOptions, 'token'>> & BearerAuthOptions;

const encoder = new TextEncoder();
const sha256 = async (text: string) => new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)));

/**
 * Compares two secrets in time that depends on neither: both are hashed to 32 bytes first
 * (so the length of the guess leaks nothing) and every byte is compared. Web Crypto, so it
 * runs on any runtime.
 */
export async function sameSecret(given: string, expectedDigest: Uint8Array): Promise<boolean> {
  const d = await sha256(given);
  let diff = d.length ^ expectedDigest.length;
  for (let i = 0; i < d.length; i++) diff |= d[i]! ^ (expectedDigest[i] ?? 0);
  return diff === 0;
}

const BEARER = /^Bearer +([\x21-\x7e]+) *$/i;

/** `Authorization: Bearer <token>` on every request but the public ones; 401 otherwise. */
export function bearerAuth(options: BearerAuthOptions = {}): MiddlewareHandler {
  const o = { ...DEFAULTS, ...options };
  if (!o.token) return async (_c, next) => next();
  // Option-dependent work once: the digest of the expected token.
  const expected = sha256(o.token);
  const publicPaths = new Set(o.publicPaths);
  return async (c, next) => {
    if (publicPaths.has(c.req.path)) return next();
    if (o.publicRead && (c.req.method === 'GET' || c.req.method === 'HEAD')) return next();
    const match = BEARER.exec(c.req.header('authorization') ?? '');
    if (!match || !(await sameSecret(match[1]!, await expected))) throw HttpError.unauthorized();
    return next();
  };
}
