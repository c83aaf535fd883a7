import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startS3Server, S3RVER_CREDENTIALS, type S3ServerHandle } from '@mnist/testing';
import { S3FetchStore } from './s3-fetch-store.js';
import { FsStore, S3Store, getJson, getText, putJson, type ArtifactStore } from './index.js';

let s3: S3ServerHandle;
let tmp: string;
const stores: Record<string, () => Promise<ArtifactStore>> = {
  fs: async () => new FsStore(mkdtempSync(join(tmp, 'fs-'))),
  s3: async () => {
    const store = await S3Store.connect({
      bucket: 'test-bucket',
      region: 'us-east-1',
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: S3RVER_CREDENTIALS,
    });
    await store.ensureBucket();
    await store.ensureBucket(); // idempotent
    return store.scope(`t${Math.random().toString(36).slice(2)}`);
  },
  's3 over fetch': async () => {
    const config = {
      bucket: 'fetch-bucket',
      region: 'us-east-1',
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: S3RVER_CREDENTIALS,
    };
    await (await S3Store.connect(config)).ensureBucket();
    return S3FetchStore.create(config).scope(`t${Math.random().toString(36).slice(2)}`);
  },
};

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'stores-'));
  s3 = await startS3Server();
});
afterAll(async () => {
  await s3.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe.each(Object.keys(stores))('%s store', (kind) => {
  it('puts, gets, lists and deletes by prefix', async () => {
    const store = await stores[kind]!();
    await store.put('a.txt', 'hello');
    await store.put('dir/b.bin', new Uint8Array([1, 2, 3]));
    await store.put('dir/sub/c.json', '{}');
    expect(await getText(store, 'a.txt')).toBe('hello');
    expect(Array.from((await store.get('dir/b.bin'))!)).toEqual([1, 2, 3]);
    expect(await store.get('missing')).toBeUndefined();
    expect(await store.list()).toEqual(['a.txt', 'dir/b.bin', 'dir/sub/c.json']);
    expect(await store.list('dir/')).toEqual(['dir/b.bin', 'dir/sub/c.json']);
    await store.put('a.txt', 'replaced');
    expect(await getText(store, 'a.txt')).toBe('replaced');
    await store.deletePrefix('dir/');
    expect(await store.list()).toEqual(['a.txt']);
    await store.deletePrefix('nothing/');
  });

  it('scopes keys under a prefix', async () => {
    const store = await stores[kind]!();
    const run = store.scope('runs/r1');
    await putJson(run, 'spec.json', { model: 'mlp' });
    expect(await getJson(store, 'runs/r1/spec.json')).toEqual({ model: 'mlp' });
    expect(await run.list()).toEqual(['spec.json']);
  });

  it('refuses keys that escape the store', async () => {
    const store = await stores[kind]!();
    for (const key of ['../x', 'a/../../x', '/etc/passwd', 'a//b', 'a\\b']) {
      await expect(store.put(key, 'x')).rejects.toThrow(/unsafe artifact key/);
      await expect(store.get(key)).rejects.toThrow(/unsafe artifact key/);
    }
  });
});

describe('fs store', () => {
  it('ignores half-written temporary files', async () => {
    const dir = mkdtempSync(join(tmp, 'half-'));
    const store = new FsStore(dir);
    await store.put('m.jsonl', 'x');
    writeFileSync(join(dir, 'm.jsonl.tmp-abcd'), 'partial');
    expect(await store.list()).toEqual(['m.jsonl']);
  });
});

describe('s3 store', () => {
  it('turns a persistent outage into a StorageError naming the object', async () => {
    const dead = await S3Store.connect({
      bucket: 'b',
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:1',
      forcePathStyle: true,
      credentials: S3RVER_CREDENTIALS,
      maxAttempts: 2,
    });
    await expect(dead.put('k', 'v')).rejects.toThrow(/put s3:\/\/b\/k/);
  });
});

describe('s3 store ensureBucket', () => {
  it('several processes creating the same bucket at once all succeed (N trainers starting together)', async () => {
    const config = {
      bucket: `race-${Math.random().toString(36).slice(2, 10)}`,
      region: 'us-east-1',
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: S3RVER_CREDENTIALS,
    };
    const stores = await Promise.all(Array.from({ length: 4 }, () => S3Store.connect(config)));
    await Promise.all(stores.map((s) => s.ensureBucket()));
    await stores[0]!.put('k', 'v');
    expect(await getText(stores[3]!, 'k')).toBe('v');
    for (const s of stores) s.destroy();
  });
});
