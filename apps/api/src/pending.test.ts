import { describe, expect, it } from 'vitest';
import { pending } from './pending.js';

class NotReady extends Error {}

describe('pending', () => {
  it('throws notReady() before the object exists, then calls through at any depth, with `this` kept', async () => {
    let resolve!: (v: { n: number; jobs: { get(id: string): Promise<string> }; twice(): number }) => void;
    const p = pending(new Promise<Parameters<typeof resolve>[0]>((r) => (resolve = r)), () => new NotReady('not yet'));
    expect(p.isReady()).toBe(false);
    expect(() => p.value.jobs.get('a')).toThrow(NotReady);
    expect(() => p.value.twice()).toThrow(NotReady);
    resolve({
      n: 21,
      jobs: { get: async (id) => `job ${id}` },
      twice() {
        return this.n * 2;
      },
    });
    await Promise.resolve();
    expect(p.isReady()).toBe(true);
    await expect(p.value.jobs.get('a')).resolves.toBe('job a');
    expect(p.value.twice()).toBe(42);
  });

  it('is not a thenable, and a failed start keeps answering notReady()', async () => {
    const p = pending<{ f(): number }>(Promise.reject(new Error('broker gone')), () => new NotReady('no cluster'));
    expect(await (async () => p.value)()).toBe(p.value);
    await Promise.resolve();
    expect(() => p.value.f()).toThrow('no cluster');
  });
});
