import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ApiLogger } from './deps.js';

export interface ErrorIssue {
  path: string;
  message: string;
}

/** Every error response of the API: a message, and for 400s the list of what is wrong. */
export interface ErrorBody {
  error: string;
  issues?: ErrorIssue[];
  /** On 5xx: quote it when reporting the problem; the server log has the details. */
  requestId?: string;
}

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
  static tooMany = (error: string, retryAfterS: number) => new HttpError(429, { error }, { 'Retry-After': String(retryAfterS) });
}

/**
 * Errors of other layers that have a meaning for clients, by `name` (app.ts may not import
 * @mnist/cluster's classes at runtime: that package pulls in the Node NATS transport).
 */
const BY_NAME: Record<string, { status: ContentfulStatusCode; expose: boolean }> = {
  JobNotFoundError: { status: 404, expose: true },
  JobFinishedError: { status: 409, expose: true },
  JobExistsError: { status: 409, expose: true },
  JobConflictError: { status: 409, expose: true },
  IdempotencyKeyReusedError: { status: 409, expose: true },
  SubmitError: { status: 503, expose: true },
  StorageError: { status: 502, expose: false },
  // NATS (nats.js v3 names): broker unreachable, slow or restarting.
  TimeoutError: { status: 503, expose: false },
  ClosedConnectionError: { status: 503, expose: false },
  DrainingConnectionError: { status: 503, expose: false },
  ConnectionError: { status: 503, expose: false },
  RequestError: { status: 503, expose: false },
  NoResponders: { status: 503, expose: false },
};

const GENERIC: Partial<Record<number, string>> = {
  413: 'request body too large',
  502: 'artifact store unavailable',
  503: 'cluster unavailable, try again',
};

/** Maps anything thrown to an HttpError. Unknown errors become a bare 500: no message, no stack. */
export function toHttpError(err: unknown, requestId?: string): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof HTTPException) {
    // Hono's own: bodyLimit (413), the validator's malformed JSON (400), ...
    const status = err.status as ContentfulStatusCode;
    const error = GENERIC[status] ?? (err.message || 'request failed');
    return new HttpError(status, status === 400 ? { error, issues: [] } : { error }, {}, { cause: err });
  }
  const known = err instanceof Error ? BY_NAME[err.name] : undefined;
  if (known) {
    const error = known.expose ? (err as Error).message : (GENERIC[known.status] ?? 'request failed');
    return new HttpError(known.status, { error, ...(requestId && known.status >= 500 && { requestId }) }, {}, { cause: err });
  }
  return new HttpError(500, { error: 'internal error', ...(requestId && { requestId }) }, {}, { cause: err });
}

/** The app's onError: one place where errors become responses, and 5xx get logged. */
export function errorHandler(log: ApiLogger) {
  return (err: Error, c: Context) => {
    const requestId = c.get('requestId');
    const h = toHttpError(err, requestId);
    if (h.status >= 500) log.error('http.error', { requestId, status: h.status, method: c.req.method, path: c.req.path, error: err });
    return c.json(h.body, h.status, h.headers);
  };
}

export const notFoundHandler = (c: Context) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` } satisfies ErrorBody, 404);
