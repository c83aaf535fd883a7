import { isRetryableStorageError, type ArtifactStore } from '@mnist/storage';
import { withRetry } from '@mnist/core';
import { silentLogger, type Logger } from '@mnist/core';

export interface RetryingStoreOptions {
  /** Total time to keep retrying one operation, on top of the SDK's per-request attempts. */
  budgetMs: number;
  log?: Logger;
  /** Stops retrying, and refuses further tries, once aborted. */
  signal?: AbortSignal;
}

/**
 * An ArtifactStore that rides out S3 outages longer than the SDK's few quick attempts
 * (a restarting MinIO, a network blip), with exponential backoff up to `budgetMs`; past
 * it the StorageError surfaces and the job fails with it as the reason.
 */
export class RetryingStore implements ArtifactStore {
  readonly location: string;
  private readonly log: Logger;

  constructor(
    private readonly inner: ArtifactStore,
    private readonly o: RetryingStoreOptions,
  ) {
    this.location = inner.location;
    this.log = o.log ?? silentLogger;
  }

  /** The same store whose retries (and every try) stop once `signal` aborts: for one rank's writes. */
  withSignal(signal: AbortSignal): RetryingStore {
    return new RetryingStore(this.inner, { ...this.o, signal });
  }

  private retry<T>(what: string, fn: () => Promise<T>): Promise<T> {
    // Checked before every try, not only the first: a stopped rank must not write on a retry.
    const attempt = () => (this.o.signal?.throwIfAborted(), fn());
    return withRetry(attempt, {
      what: `s3 ${what}`,
      maxMs: this.o.budgetMs,
      initialDelayMs: 500,
      maxDelayMs: 10_000,
      isRetryable: isRetryableStorageError,
      signal: this.o.signal,
      log: this.log,
    });
  }

  put(key: string, body: Uint8Array | string, contentType?: string): Promise<void> {
    return this.retry(`put ${this.location}${key}`, () => this.inner.put(key, body, contentType));
  }

  get(key: string): Promise<Uint8Array | undefined> {
    return this.retry(`get ${this.location}${key}`, () => this.inner.get(key));
  }

  list(prefix?: string): Promise<string[]> {
    return this.retry(`list ${this.location}${prefix ?? ''}`, () => this.inner.list(prefix));
  }

  deletePrefix(prefix: string): Promise<void> {
    return this.retry(`delete ${this.location}${prefix}`, () => this.inner.deletePrefix(prefix));
  }

  scope(prefix: string): ArtifactStore {
    return new RetryingStore(this.inner.scope(prefix), this.o);
  }
}
