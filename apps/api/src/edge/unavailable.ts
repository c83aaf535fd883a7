import { errorFields, type Logger } from '@mnist/core';
import type { ErrorBody } from '../http-error.js';

/**
 * The answer when the edge cannot reach the cluster (connect failed, bad configuration):
 * a 503 with the reason, never a 500. The reason names the failure, not the servers' addresses.
 */
export function unavailable(err: unknown, log: Logger): Response {
  const reason = describe(err);
  log.error('edge.unavailable', { error: err });
  const body: ErrorBody & { reason: string } = { error: 'cluster unavailable, try again', reason };
  return Response.json(body, { status: 503, headers: { 'Retry-After': '2', 'Cache-Control': 'no-store' } });
}

function describe(err: unknown): string {
  const f = errorFields(err);
  const cause = f.cause as { message?: string } | undefined;
  const text = `${String(f.message)}${cause?.message ? ` (${cause.message})` : ''}`;
  return text.replace(/(wss?|nats|https?):\/\/[^\s)'"]+/g, '$1://…');
}
