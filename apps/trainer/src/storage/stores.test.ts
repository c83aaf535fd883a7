import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRetryableStorageError, S3Store, StorageError } from '@mnist/storage';
import { startS3Server, S3RVER_CREDENTIALS, freePort, type S3ServerHandle } from '@mnist/testing';
import { FencedStore } from './fenced-store.js';
import { RetryingStore } from './retrying-store.js';

let s3: S3ServerHandle;
beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(async () => {
  await s3?.stop();
});

const connect = (endpoint: string, port?: number) =>
  S3Store.connect({
    bucket: 'mnist',
    region: 'us-east-1',
    endpoint: port ? `http://127.0.0.1:${port}` : endpoint,
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
    maxAttempts: 1,
  });

describe('RetryingStore', () => {
  it('rides out an S3 server that comes up late', async () => {
    const port = await freePort();
    const store = new RetryingStore(await connect('', port), { budgetMs: 20_000 });
    const late = (async () => {
      await new Promise((r) => setTimeout(r, 1_200));
      return startS3Server({ port });
    })();
    const server = await late.then(async (srv) => {
      await (await connect('', port)).ensureBucket();
      return srv;
    });
    try {
      await store.put('a.txt', 'hello'); // may have failed before the server started; retried
      expect(new TextDecoder().decode(await store.get('a.txt'))).toBe('hello');
    } finally {
      await server.stop();
    }
  });

  it('gives up after its budget with the StorageError, and never retries client errors', async () => {
    const port = await freePort(); // nothing listens
    const store = new RetryingStore(await connect('', port), { budgetMs: 1_500 });
    const t0 = Date.now();
    const err = await store.put('x', 'y').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect(isRetryableStorageError(err)).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(400);
    const wrongBucket = await S3Store.connect({
      bucket: 'no-such-bucket',
      region: 'us-east-1',
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: S3RVER_CREDENTIALS,
      maxAttempts: 1,
    });
    const notFound = await wrongBucket.put('x', 'y').catch((e: unknown) => e);
    expect(isRetryableStorageError(notFound)).toBe(false);
  });
});

describe('FencedStore', () => {
  it('never deletes, and refuses writes after its signal aborts, with the abort reason', async () => {
    const root = await connect(s3.endpoint);
    await root.ensureBucket();
    const ac = new AbortController();
    const store = new FencedStore(root.scope('jobs/fenced/'), ac.signal);
    await store.put('m.txt', '1');
    await expect(store.deletePrefix('')).rejects.toThrow('append-only');
    ac.abort(new Error('attempt 2 superseded by attempt 3'));
    await expect(store.put('m.txt', '2')).rejects.toThrow('superseded');
    expect(new TextDecoder().decode(await store.get('m.txt'))).toBe('1');
  });
});

describe('RetryingStore with a signal', () => {
  it('stops retrying (within its 60 s budget) once the signal aborts', async () => {
    const port = await freePort(); // nothing listens
    const ac = new AbortController();
    const store = new RetryingStore(await connect('', port), { budgetMs: 60_000 }).withSignal(ac.signal);
    setTimeout(() => ac.abort(new Error('rank stopped')), 300);
    await expect(store.put('x', 'y')).rejects.toThrow();
    expect(ac.signal.aborted).toBe(true);
  });
});
