import { hc } from 'hono/client';
import type { AppType, ErrorBody } from '@mnist/api';
import { JobIdSchema } from '@mnist/protocol';
import type { CliEnv } from '../../config.js';
import { CliError, UsageError } from '../../errors.js';
import type { Values } from '../../flags.js';

/** Flags every cluster verb takes; they override API_URL and API_TOKEN. */
export const API_FLAGS = {
  'api-url': { type: 'string' },
  token: { type: 'string' },
} as const;

export const API_FLAGS_HELP = `API flags:
      --api-url <url>        the cluster API (default API_URL or http://127.0.0.1:8787)
      --token <token>        bearer token, if the API has one (default API_TOKEN)`;

export interface Api {
  url: string;
  client: ReturnType<typeof hc<AppType>>;
  /** Runs one request: network failures and error statuses become one-line CliErrors. */
  call<R extends Response>(request: Promise<R>): Promise<R>;
  /**
   * Like `call`, but sends the same request again after a network failure or a 503/502/504
   * (a broker restart, a paused API), with growing pauses. Only for requests that are safe
   * to repeat: reads, and submits that carry an Idempotency-Key.
   */
  callRetrying<R extends Response>(send: () => Promise<R>, o?: RetryPolicy): Promise<R>;
}

export interface RetryPolicy {
  /** Tries in all (default 6: about 30 s of pauses). */
  tries?: number;
  /** First pause; doubles up to 8 s. */
  firstDelayMs?: number;
  /** Told before each pause (the CLI prints it on stderr). */
  onRetry?: (why: string, delayMs: number) => void;
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

export interface ApiContext {
  env: CliEnv;
  /** Tests pass the app's own fetch; the CLI uses the global one. */
  fetch?: typeof fetch;
}

/** The typed client (`hc<AppType>`) for the API named by flags or environment. */
export function connectApi(values: Values, ctx: ApiContext): Api {
  const raw = (values['api-url'] as string | undefined) ?? ctx.env.API_URL;
  let url: string;
  try {
    url = new URL(raw).toString().replace(/\/+$/, '');
  } catch {
    throw new UsageError(`--api-url: not a URL: '${raw}'`);
  }
  const token = (values.token as string | undefined) ?? ctx.env.API_TOKEN;
  const client = hc<AppType>(url, {
    ...(token && { headers: { Authorization: `Bearer ${token}` } }),
    ...(ctx.fetch && { fetch: ctx.fetch }),
  });
  const call = async <R extends Response>(request: Promise<R>): Promise<R> => {
    let res: R;
    try {
      res = await request;
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      const code = networkCode(err);
      throw new CliError(`cannot reach the API at ${url}${code ? ` (${code})` : ''}: is it running? Set API_URL or --api-url`);
    }
    if (res.status === 401) {
      throw new CliError(token ? `the API at ${url} refused the token (401): check API_TOKEN or --token` : `the API at ${url} needs a token (401): set API_TOKEN or --token`);
    }
    if (!res.ok) throw new CliError(await errorMessage(res));
    return res;
  };
  const callRetrying = async <R extends Response>(send: () => Promise<R>, o: RetryPolicy = {}): Promise<R> => {
    const tries = o.tries ?? 6;
    let delay = o.firstDelayMs ?? 1_000;
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
      o.onRetry?.(why, delay);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 8_000);
    }
  };
  return { url, client, call, callRetrying };
}

/** A job id from the command line; checked first so that it can only ever be one path segment. */
export function jobIdArg(value: string | undefined, command: string): string {
  if (value === undefined) throw new UsageError(`mnist ${command} needs a job id; list them with 'mnist jobs'`);
  if (!JobIdSchema.safeParse(value).success) throw new UsageError(`'${value}' is not a job id (letters, digits, '_' and '-', like j-mwzacsyq-7gxqsgwb)`);
  return value;
}
