import type { ErrorBody } from '@mnist/protocol';

/** Answers worth a second try: a proxy without its upstream, a paused or restarting API or broker. */
export const RETRY_STATUS: ReadonlySet<number> = new Set([502, 503, 504]);

/** Socket errors that mean "nothing is there" (a wrong URL, the API not started): trying again does not help. */
export const NOBODY_THERE: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ERR_INVALID_URL']);

/** Where the socket error is, under undici's `TypeError: fetch failed`. */
export function networkCode(err: unknown): string | undefined {
  let e = err as { code?: string; cause?: unknown } | undefined;
  for (let i = 0; e && i < 4; i++, e = e.cause as typeof e) if (typeof e.code === 'string') return e.code;
  return undefined;
}

/** The API's own words from an error body (ErrorBody), or the bare status line when it has none. */
export async function bodyMessage(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as ErrorBody;
    if (typeof body.error !== 'string') throw new Error('not an ErrorBody');
    const issues = body.issues?.length ? `: ${body.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}` : '';
    return `${body.error}${issues}${body.requestId ? ` (request ${body.requestId})` : ''}`;
  } catch {
    return `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
  }
}

/** Seconds from a Retry-After header (delta-seconds or an HTTP date), if it has a usable one. */
export function retryAfterSeconds(res: Response, now = Date.now()): number | undefined {
  const raw = res.headers.get('retry-after');
  if (raw === null) return undefined;
  if (/^\d+$/.test(raw.trim())) return Number(raw);
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

export interface MeaningContext {
  url: string;
  hasToken: boolean;
  /** How the caller sets the URL and the token (e.g. "API_TOKEN or --token"). */
  hints: { url?: string; token?: string };
}

/** One line a person can act on, for an error answer (4xx or 5xx). */
export async function statusMeaning(res: Response, c: MeaningContext): Promise<string> {
  const token = c.hints.token;
  switch (res.status) {
    case 401:
      return c.hasToken
        ? `the API at ${c.url} refused the token (401)${token ? `: check ${token}` : ''}`
        : `the API at ${c.url} needs a token (401)${token ? `: set ${token}` : ''}`;
    case 403:
      return `the API at ${c.url} does not allow this (403): ${await bodyMessage(res)}`;
    case 413:
      return `the request is too large for the API (413): ${await bodyMessage(res)}`;
    case 429: {
      const after = retryAfterSeconds(res);
      return `${await bodyMessage(res)} (429${after !== undefined ? `; the API asks to wait ${after} s` : ''})`;
    }
    default:
      // 400, 404 and 409 carry the API's own sentence ("job 'x' not found", "already cancelled").
      return bodyMessage(res);
  }
}
