import { isTransientNatsError } from '@mnist/cluster';
import { DatasetError } from '@mnist/data';
import { StorageError } from '@mnist/storage';
import { CollectiveError } from '../collective/errors.js';
import { RankStoppedError } from '../state.js';

/** How an attempt ended, and so what the coordinator does with the job and its task. */
export type Outcome =
  | { kind: 'succeeded' }
  /** Told to stop: cancelled, finished elsewhere, superseded, put back, draining. */
  | { kind: 'stopped'; stop: RankStoppedError }
  /** Will not get better by retrying: fail the job with the reason. */
  | { kind: 'failed'; reason: string }
  /** A lost peer, a broker hiccup...: put the job back, the next group resumes from the checkpoint. */
  | { kind: 'retry'; reason: string };

export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return err.name && !err.message.startsWith(err.name) ? `${err.name}: ${err.message}` : err.message;
}

/**
 * Errors that no other group would avoid: S3 failing past all retries, a dataset this
 * trainer cannot read, ranks disagreeing about the wire format, or a peer saying so.
 */
export function isFatal(err: unknown): boolean {
  if (err instanceof RankStoppedError) return false;
  if (err instanceof CollectiveError) return err.fatal;
  return err instanceof StorageError || err instanceof DatasetError;
}

export function classify(err: unknown): Outcome {
  if (err instanceof RankStoppedError) return { kind: 'stopped', stop: err };
  const reason = describeError(err);
  if (isFatal(err)) return { kind: 'failed', reason };
  if (err instanceof CollectiveError || isTransientNatsError(err)) return { kind: 'retry', reason };
  // Unknown (a bug, out of memory...): retry elsewhere; MAX_ATTEMPTS bounds the loop.
  return { kind: 'retry', reason };
}
