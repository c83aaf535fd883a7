import { ConnectionError, NoRespondersError, RequestError, TimeoutError } from '@nats-io/transport-node';
import { JetStreamApiError, JetStreamError } from '@nats-io/jetstream';
import { silentLogger, type Logger } from './log.js';

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

export interface RetryOptions {
  /** For logs: what is being retried. */
  what: string;
  /** Give up after this long (ms), rethrowing the last error. */
  maxMs?: number;
  /** First pause; doubles up to maxDelayMs. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  isRetryable?: (err: unknown) => boolean;
  signal?: AbortSignal;
  log?: Logger;
}

export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/** Runs `fn` until it succeeds, a non-retryable error occurs, the budget is spent or `signal` aborts. */
export async function withRetry<T>(fn: () => Promise<T>, o: RetryOptions): Promise<T> {
  const log = o.log ?? silentLogger;
  const isRetryable = o.isRetryable ?? isTransientNatsError;
  const deadline = Date.now() + (o.maxMs ?? 60_000);
  let delay = o.initialDelayMs ?? 200;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isRetryable(err) || Date.now() + delay > deadline || o.signal?.aborted) throw err;
      log.warn('retry', { what: o.what, attempt, delayMs: delay, error: err });
      await sleep(delay, o.signal);
      delay = Math.min(delay * 2, o.maxDelayMs ?? 5_000);
    }
  }
}
