import type { Hono } from 'hono';
import { hc } from 'hono/client';
import type { ErrorBody } from '@mnist/protocol';

/** The API's app type (`AppType` from @mnist/api, imported as a type by the caller); hono's own constraint for hc<T>. */
type AnyApp = Hono<any, any, any>;

/** A failed API call as one line a person can act on; `status` when the API answered. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface RetryPolicy {
  /** Tries in all (default 6: about 30 s of pauses). */
  tries?: number;
  /** First pause; doubles up to 8 s. */
  firstDelayMs?: number;
  /** Told before each pause (the CLI prints it on stderr). */
  onRetry?: (why: string, delayMs: number) => void;
}

export interface ApiClientOptions {
  token?: string;
  /** Tests pass the app's own fetch; the default is the global one. */
  fetch?: typeof fetch;
  /** Appended to the error messages: how this caller sets the URL and the token (e.g. the CLI's flags). */
  hints?: { url?: string; token?: string };
}

export interface ApiClient<App extends AnyApp> {
  url: string;
  client: ReturnType<typeof hc<App>>;
  /** Runs one request: network failures and error statuses become one-line ApiErrors. */
  call<R extends Response>(request: Promise<R>): Promise<R>;
  /**
   * Like `call`, but sends the same request again after a network failure or a 503/502/504
   * (a broker restart, a paused API), with growing pauses. Only for requests that are safe
   * to repeat: reads, and submits that carry an Idempotency-Key.
   */
  callRetrying<R extends Response>(send: () => Promise<R>, o?: RetryPolicy): Promise<R>;
}

const RETRY_STATUS = new Set([502, 503, 504]);

/** Where the socket error is, under undici's `TypeError: fetch failed`. */
function networkCode(err: unknown): string | undefined {
  let e = err as { code?: string; cause?: unknown } | undefined;
  for (let i = 0; e && i < 4; i++, e = e.cause as typeof e) if (typeof e.code === 'string') return e.code;
  return undefined;
}

async function errorMessage(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as ErrorBody;
    const issues = body.issues?.length ? `: ${body.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}` : '';
    return `${body.error}${issues}${body.requestId ? ` (request ${body.requestId})` : ''}`;
  } catch {
    return `HTTP ${res.status} ${res.statusText}`;
  }
}

/**
 * The typed client (`hc<App>`) for the API at `url` (no trailing slash). Generic over the
 * app type so this package needs the API's types only where a caller supplies them:
 * `createApiClient<AppType>(url)`.
 */
export function createApiClient<App extends AnyApp>(url: string, o: ApiClientOptions = {}): ApiClient<App> {
  const client = hc<App>(url, {
    ...(o.token && { headers: { Authorization: `Bearer ${o.token}` } }),
    ...(o.fetch && { fetch: o.fetch }),
  });
  const urlHint = o.hints?.url ? `: is it running? ${o.hints.url}` : '';
  const tokenHint = (verb: string) => (o.hints?.token ? `: ${verb} ${o.hints.token}` : '');
  const call = async <R extends Response>(request: Promise<R>): Promise<R> => {
    let res: R;
    try {
      res = await request;
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      const code = networkCode(err);
      throw new ApiError(`cannot reach the API at ${url}${code ? ` (${code})` : ''}${urlHint}`);
    }
    if (res.status === 401) {
      throw new ApiError(o.token ? `the API at ${url} refused the token (401)${tokenHint('check')}` : `the API at ${url} needs a token (401)${tokenHint('set')}`, 401);
    }
    if (!res.ok) throw new ApiError(await errorMessage(res), res.status);
    return res;
  };
  const callRetrying = async <R extends Response>(send: () => Promise<R>, p: RetryPolicy = {}): Promise<R> => {
    const tries = p.tries ?? 6;
    let delay = p.firstDelayMs ?? 1_000;
    for (let attempt = 1; ; attempt++) {
      let why: string;
      try {
        const res = await send();
        if (!RETRY_STATUS.has(res.status) || attempt >= tries) return await call(Promise.resolve(res));
        why = `HTTP ${res.status}`;
        await res.body?.cancel();
      } catch (err) {
        if ((err as Error).name === 'AbortError' || attempt >= tries) return await call(Promise.reject(err));
        why = `no answer (${networkCode(err) ?? (err as Error).message})`;
      }
      p.onRetry?.(why, delay);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 8_000);
    }
  };
  return { url, client, call, callRetrying };
}
