// Runtime-neutral (nats-core and jetstream only): the edge API imports this as @mnist/cluster/nats-errors.
import {
  ClosedConnectionError,
  ConnectionError,
  DrainingConnectionError,
  NoRespondersError,
  RequestError,
  TimeoutError,
} from '@nats-io/nats-core';
import { JetStreamApiError, JetStreamError } from '@nats-io/jetstream';
import { withRetry, type RetryOptions } from '@mnist/core';

/**
 * Errors that a broker restart or a brief partition produce and that go away by
 * themselves: timeouts, no responders (JetStream not back yet), connection trouble,
 * and JetStream's 503 "temporarily unavailable".
 */
export function isTransientNatsError(err: unknown): boolean {
  if (err instanceof TimeoutError || err instanceof NoRespondersError || err instanceof ConnectionError) return true;
  if (err instanceof RequestError) return true;
  if (err instanceof JetStreamApiError) return err.status === 503 || err.status === 408;
  if (err instanceof JetStreamError) return /timeout|no responders|unavailable/i.test(err.message);
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  return cause !== undefined && cause !== err && isTransientNatsError(cause);
}

/** The broker cannot serve the call now: a transient error, or a connection that is closed or draining. */
export const isBrokerUnavailable = (err: unknown): boolean =>
  err instanceof ClosedConnectionError || err instanceof DrainingConnectionError || isTransientNatsError(err);

/** `withRetry` for broker calls: retries what a broker restart causes, nothing else. */
export const withNatsRetry = <T>(fn: () => Promise<T>, o: Omit<RetryOptions, 'isRetryable'>): Promise<T> =>
  withRetry(fn, { ...o, isRetryable: isTransientNatsError });
