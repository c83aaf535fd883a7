import type { Hono } from 'hono';
import { hc } from 'hono/client';
import { networkCode, NOBODY_THERE, RETRY_STATUS, retryAfterSeconds, statusMeaning } from './status-meaning.js';

/**
 * The API's app type (`AppType` from @mnist/api, imported as a type by the caller); hono's own
 * constraint for hc<T>.
 */
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
  /** Runs one request (no retry): network failures and error statuses become one-line ApiErrors. */
  call<R extends Response>(request: Promise<R>): Promise<R>;
  /**
   * Like `call`, but sends the same request again after a network failure or a 503/502/504
   * (a broker restart, a paused API), with growing pauses. Never after a 4xx (401, 404, 409,
   * 429, ...: its one-line meaning is thrown at once), nor when nothing listens at the URL.
   * Only for requests that are safe to repeat: reads, and submits that carry an Idempotency-Key.
   */
  callRetrying<R extends Response>(send: () => Promise<R>, o?: RetryPolicy): Promise<R>;
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
  const meaning = { url, hasToken: Boolean(o.token), hints: o.hints ?? {} };
  const isAbort = (err: unknown) => (err as Error).name === 'AbortError';
  // The one path of every request: 4xx answers are final at once (retrying cannot change them);
  // network failures and 502/503/504 are tried again while tries are left, except when nothing
  // listens at the URL. The final message says which of these happened.
  const callRetrying = async <R extends Response>(send: () => Promise<R>, p: RetryPolicy = {}): Promise<R> => {
    const tries = p.tries ?? 6;
    let delay = p.firstDelayMs ?? 1_000;
    const began = Date.now();
    const after = (attempt: number) =>
      attempt > 1 ? `, after ${attempt} tries in ${Math.round((Date.now() - began) / 1000)} s` : '';
    for (let attempt = 1; ; attempt++) {
      let why: string;
      let res: R;
      try {
        res = await send();
      } catch (err) {
        if (isAbort(err)) throw err;
        const code = networkCode(err) ?? (err as Error).message;
        if (NOBODY_THERE.has(code) || attempt >= tries)
          throw new ApiError(`cannot reach the API at ${url} (${code}${after(attempt)})${urlHint}`);
        why = `no answer (${code})`;
        p.onRetry?.(why, delay);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 8_000);
        continue;
      }
      if (res.ok) return res;
      if (!RETRY_STATUS.has(res.status) || attempt >= tries) {
        const retried = RETRY_STATUS.has(res.status) ? ` (HTTP ${res.status}${after(attempt)})` : '';
        throw new ApiError(`${await statusMeaning(res, meaning)}${retried}`, res.status);
      }
      why = `HTTP ${res.status}`;
      // A Retry-After (a paused API) is honoured, within the same 8 s ceiling.
      const asked = retryAfterSeconds(res);
      const wait = Math.min(Math.max(delay, (asked ?? 0) * 1000), 8_000);
      await res.body?.cancel();
      p.onRetry?.(why, wait);
      await new Promise((r) => setTimeout(r, wait));
      delay = Math.min(delay * 2, 8_000);
    }
  };
  const call = <R extends Response>(request: Promise<R>): Promise<R> => callRetrying(() => request, { tries: 1 });
  return { url, client, call, callRetrying };
}
