import { StorageError } from './artifact-store.js';

/** What the AWS SDK's errors carry (the S3 store keeps them as a StorageError's cause). */
interface SdkErrorShape {
  name?: string;
  code?: string;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
}

/**
 * Worth another try after the SDK's own retries gave up: no HTTP answer at all
 * (connection refused/reset, DNS, timeout), throttling, or a server error. Client
 * errors (403 credentials, 400, missing bucket) will not heal by waiting.
 */
export function isRetryableStorageError(err: unknown): boolean {
  if (!(err instanceof StorageError)) return false;
  const cause = err.cause as SdkErrorShape | undefined;
  if (!cause) return false;
  const status = cause.$metadata?.httpStatusCode;
  if (status === undefined) return true;
  return status >= 500 || status === 429 || status === 408 || cause.$retryable !== undefined;
}
