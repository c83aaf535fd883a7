import { describe, expect, it } from 'vitest';
import { TimeoutError } from '@nats-io/transport-node';
import { DatasetNotFoundError } from '@mnist/data';
import { parseJobSpec, type JobRecord } from '@mnist/protocol';
import { StorageError } from '@mnist/storage';
import { CollectiveAbortedError, CollectiveTimeoutError } from '../collective/errors.js';
import { RankStoppedError } from '../state.js';
import { classify, isFatal } from './outcome.js';
import { stopReasonFor } from './stop-reason.js';

describe('classify', () => {
  it('fails the job on errors no other group would avoid', () => {
    expect(classify(new StorageError('put s3://mnist/jobs/j/metrics.jsonl: ECONNREFUSED'))).toEqual({
      kind: 'failed',
      reason: 'StorageError: put s3://mnist/jobs/j/metrics.jsonl: ECONNREFUSED',
    });
    expect(classify(new DatasetNotFoundError('mnist', [], 'no files')).kind).toBe('failed');
    expect(classify(new CollectiveAbortedError('rank 1: StorageError: S3 down', 1, true)).kind).toBe('failed');
  });

  it('retries lost peers, broker hiccups and the unknown', () => {
    expect(classify(new CollectiveTimeoutError(3, [1], 30_000))).toMatchObject({
      kind: 'retry',
      reason: expect.stringMatching(/rank 1/),
    });
    expect(classify(new CollectiveAbortedError('rank 1 shutting down', 1, false)).kind).toBe('retry');
    expect(classify(new TimeoutError()).kind).toBe('retry');
    expect(classify(new Error('out of memory')).kind).toBe('retry');
    expect(isFatal(new RankStoppedError('draining', 'x'))).toBe(false);
  });

  it('passes stops through', () => {
    const stop = new RankStoppedError('cancelled', 'by user');
    expect(classify(stop)).toEqual({ kind: 'stopped', stop });
  });
});

describe('stopReasonFor', () => {
  const base: JobRecord = {
    id: 'j',
    spec: parseJobSpec({ model: 'mlp' }),
    state: 'running',
    createdAt: '',
    updatedAt: '',
    attempt: 2,
    group: 0,
    trainers: [],
    epoch: 0,
  };
  it('keeps a rank running only while the record names its attempt as running', () => {
    expect(stopReasonFor(base, 2)).toBeUndefined();
    expect(stopReasonFor({ ...base, state: 'cancelled' }, 2)?.kind).toBe('cancelled');
    expect(stopReasonFor({ ...base, attempt: 3 }, 2)?.kind).toBe('superseded');
    expect(stopReasonFor({ ...base, state: 'succeeded' }, 2)?.kind).toBe('finished');
    expect(stopReasonFor({ ...base, state: 'queued', message: 'peer lost' }, 2)).toMatchObject({
      kind: 'attempt-ended',
      message: 'peer lost',
    });
  });

  it('stops a rank an elastic group was re-formed without, and only that rank', () => {
    const resized = { ...base, group: 1, trainers: ['t1', 't3'] };
    expect(stopReasonFor(resized, 2, 't3')).toBeUndefined();
    expect(stopReasonFor(resized, 2, 't2')).toMatchObject({ kind: 'superseded' });
    expect(stopReasonFor(resized, 2, 't2')?.message).toMatch(/^dropped from attempt 2/);
  });
});
