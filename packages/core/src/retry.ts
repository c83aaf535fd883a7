import { silentLogger, type Logger } from './log.js';

export interface RetryOptions {
  /** For logs: what is being retried. */
  what: string;
  /** Give up after this long (ms), rethrowing the last error. */
  maxMs?: number;
  /** First pause; doubles up to maxDelayMs. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Which failures go away by themselves (a broker's or a store's transient errors); the rest are rethrown at once. */
  isRetryable: (err: unknown) => boolean;
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
  const deadline = Date.now() + (o.maxMs ?? 60_000);
  let delay = o.initialDelayMs ?? 200;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!o.isRetryable(err) || Date.now() + delay > deadline || o.signal?.aborted) throw err;
      log.warn('retry', { what: o.what, attempt, delayMs: delay, error: err });
      await sleep(delay, o.signal);
      delay = Math.min(delay * 2, o.maxDelayMs ?? 5_000);
    }
  }
}

/**
 * Waits for `promise` at most `ms`: its value, or `timedOut` when the time ran out first.
 * The timer is cleared either way, so a race never keeps the process alive or fires late.
 */
export async function within<T, D>(promise: Promise<T>, ms: number, timedOut: D): Promise<T | D> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<D>((resolve) => (timer = setTimeout(() => resolve(timedOut), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
