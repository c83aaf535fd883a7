import { describe, expect, it } from 'vitest';
import { DatasetCache } from './dataset-cache.js';

describe('DatasetCache', () => {
  it('loads a subset once, keeps the most recent ones, and does not cache failures', async () => {
    const cache = new DatasetCache(undefined, 2);
    const a = await cache.get({ dataset: 'mnist', trainLimit: 100, testLimit: 50 });
    expect(a.train.count).toBe(100);
    expect(await cache.get({ dataset: 'mnist', trainLimit: 100, testLimit: 50 })).toBe(a);
    await cache.get({ dataset: 'mnist', trainLimit: 200, testLimit: 50 });
    await cache.get({ dataset: 'mnist', trainLimit: 300, testLimit: 50 }); // evicts the 100-subset
    expect(await cache.get({ dataset: 'mnist', trainLimit: 100, testLimit: 50 })).not.toBe(a);

    const broken = new DatasetCache('/nonexistent-mnist-dir');
    await expect(broken.get({ dataset: 'mnist', trainLimit: 10, testLimit: 10 })).rejects.toThrow(/nonexistent-mnist-dir/);
    await expect(broken.get({ dataset: 'mnist', trainLimit: 10, testLimit: 10 })).rejects.toThrow(); // tried again, not a cached rejection
  });
});
