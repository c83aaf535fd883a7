import type { JobState } from '@mnist/protocol';

/**
 * The errors that cross package lines and mean something to a client. They live here, in
 * a package with no runtime dependencies, so the API maps them to statuses with
 * `instanceof` on Node and on Workers alike.
 */

/** Base of the cluster's errors, so callers can tell cluster failures apart. */
export class ClusterError extends Error {
  override readonly name: string = 'ClusterError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export interface ConfigIssue {
  variable: string;
  message: string;
}

/** Environment variables that do not parse; lists every bad variable at once. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly issues: ConfigIssue[]) {
    super(`invalid configuration: ${issues.map((i) => `${i.variable}: ${i.message}`).join('; ')}`);
  }
}

export class JobNotFoundError extends ClusterError {
  override readonly name = 'JobNotFoundError';
  constructor(readonly jobId: string) {
    super(`job '${jobId}' not found`);
  }
}

export class JobExistsError extends ClusterError {
  override readonly name = 'JobExistsError';
  constructor(
    readonly jobId: string,
    options?: { cause?: unknown },
  ) {
    super(`job '${jobId}' already exists`, options);
  }
}

/** A compare-and-set transition lost the race too many times in a row. */
export class JobConflictError extends ClusterError {
  override readonly name = 'JobConflictError';
  constructor(
    readonly jobId: string,
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(`job '${jobId}': record kept changing underneath ${attempts} update attempts`, options);
  }
}

/** Cancelling (or otherwise moving) a job that has already reached a final state. */
export class JobFinishedError extends ClusterError {
  override readonly name = 'JobFinishedError';
  constructor(
    readonly jobId: string,
    readonly state: JobState,
  ) {
    super(`job '${jobId}' is already ${state}`);
  }
}

/** A stored value that does not match its schema (written by an incompatible version?). */
export class CorruptRecordError extends ClusterError {
  override readonly name = 'CorruptRecordError';
  constructor(
    readonly what: string,
    options?: { cause?: unknown },
  ) {
    super(`${what}: stored value does not match the schema`, options);
  }
}

/** An Idempotency-Key sent again with a different job spec: the key names another job. */
export class IdempotencyKeyReusedError extends ClusterError {
  override readonly name = 'IdempotencyKeyReusedError';
  constructor(readonly jobId: string) {
    super(`this Idempotency-Key was used for job '${jobId}' with a different spec; use a new key for a new job`);
  }
}

/** The job could not be queued (broker unavailable, stream full, admission refused). */
export class SubmitError extends ClusterError {
  override readonly name = 'SubmitError';
}

/** An artifact store (S3, file system) failed or returned something unusable. */
export class StorageError extends Error {
  override readonly name = 'StorageError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The broker has no cluster yet: trainers create its streams and buckets, and none has started. */
export class ClusterNotReadyError extends ClusterError {
  override readonly name = 'ClusterNotReadyError';
  constructor(readonly missing: string[]) {
    super(
      `the cluster is not set up yet (missing ${missing.join(', ')}): ` +
        'trainers create it when they start; start one (npm run trainer)',
    );
  }
}
