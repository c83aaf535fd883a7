import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import {
  ClusterNotReadyError,
  IdempotencyKeyReusedError,
  JobConflictError,
  JobExistsError,
  JobFinishedError,
  JobNotFoundError,
  StorageError,
  SubmitError,
  type Logger,
} from '@mnist/core';
import type { ErrorBody, ErrorIssue } from '@mnist/protocol';

// The wire shape lives in @mnist/protocol, so clients read it without importing the API.
export type { ErrorBody, ErrorIssue };

/**
 * The API's one HTTP error type: a status and the JSON body to answer with. Handlers
 * throw it; `errorHandler` turns it (and anything else) into the response.
 */
export class HttpError extends HTTPException {
  constructor(
    status: ContentfulStatusCode,
    readonly body: ErrorBody,
    readonly headers: Record<string, string> = {},
    options?: { cause?: unknown },
  ) {
    super(status, { message: body.error, ...(options?.cause !== undefined && { cause: options.cause }) });
  }

  static badRequest = (error: string, issues: ErrorIssue[] = []) => new HttpError(400, { error, issues });
  static unauthorized = () =>
    new HttpError(401, { error: 'missing or invalid bearer token' }, { 'WWW-Authenticate': 'Bearer realm="mnist"' });
  static notFound = (error: string) => new HttpError(404, { error });
  static conflict = (error: string) => new HttpError(409, { error });
  static tooMany = (error: string, retryAfterS: number) =>
    new HttpError(429, { error }, { 'Retry-After': String(retryAfterS) });
}

/**
 * Errors of other layers that mean something to clients, by class: the cluster's and the
 * stores' from @mnist/core; the broker's through the `isUnavailable` the app was given
 * (timeouts, closed or restarting connections, no responders). The first match wins.
 */
const KNOWN: { test: (err: unknown) => boolean; status: ContentfulStatusCode; expose: boolean }[] = [
  { test: (e) => e instanceof JobNotFoundError, status: 404, expose: true },
  {
    test: (e) => e instanceof JobFinishedError || e instanceof JobExistsError || e instanceof JobConflictError,
    status: 409,
    expose: true,
  },
  { test: (e) => e instanceof IdempotencyKeyReusedError, status: 409, expose: true },
  { test: (e) => e instanceof SubmitError || e instanceof ClusterNotReadyError, status: 503, expose: true },
  { test: (e) => e instanceof StorageError, status: 502, expose: false },
];

const UNAVAILABLE = { status: 503, expose: false } as const;

const GENERIC: Partial<Record<number, string>> = {
  413: 'request body too large',
  502: 'artifact store unavailable',
  503: 'cluster unavailable, try again',
};

/** Maps anything thrown to an HttpError. Unknown errors become a bare 500: no message, no stack. */
export function toHttpError(
  err: unknown,
  requestId?: string,
  isUnavailable: (err: unknown) => boolean = () => false,
): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof HTTPException) {
    // Hono's own: bodyLimit (413), the validator's malformed JSON (400), ...
    const status = err.status as ContentfulStatusCode;
    const error = GENERIC[status] ?? (err.message || 'request failed');
    return new HttpError(status, status === 400 ? { error, issues: [] } : { error }, {}, { cause: err });
  }
  const known = KNOWN.find((k) => k.test(err)) ?? (isUnavailable(err) ? UNAVAILABLE : undefined);
  if (known) {
    const error = known.expose ? (err as Error).message : (GENERIC[known.status] ?? 'request failed');
    return new HttpError(
      known.status,
      { error, ...(requestId && known.status >= 500 && { requestId }) },
      {},
      { cause: err },
    );
  }
  return new HttpError(500, { error: 'internal error', ...(requestId && { requestId }) }, {}, { cause: err });
}

/** The app's onError: one place where errors become responses, and 5xx get logged. */
export function errorHandler(log: Logger, isUnavailable?: (err: unknown) => boolean) {
  return (err: Error, c: Context) => {
    const requestId = c.get('requestId');
    const h = toHttpError(err, requestId, isUnavailable);
    if (h.status >= 500)
      log.error('http.error', { requestId, status: h.status, method: c.req.method, path: c.req.path, error: err });
    return c.json(h.body, h.status, h.headers);
  };
}

export const notFoundHandler = (c: Context) =>
  c.json({ error: `no route for ${c.req.method} ${c.req.path}` } satisfies ErrorBody, 404);
