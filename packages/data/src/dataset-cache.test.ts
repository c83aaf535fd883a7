import { describe, expect, it } from 'vitest';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatasetCache } from './dataset-cache.js';
import { defaultDatasetDir, IDX_FILE_NAMES } from './dataset-files.js';

describe('DatasetCache', () => {
  it('loads a subset once, keeps the most recent ones, and does not cache failures', async () => {
    const cache = new DatasetCache(undefined, 2);
    const a = await cache.get({ dataset: 'mnist', trainLimit: 100, testLimit: 50 });
    expect(a.train.count).toBe(100);
    expect(await cache.get({ dataset: 'mnist', trainLimit: 100, testLimit: 50 })).toBe(a);
    await cache.get({ dataset: 'mnist', trainLimit: 200, testLimit: 50 });
    await cache.get({ dataset: 'mnist', trainLimit: 300, testLimit: 50 }); // evicts the 100-subset
    expect(await cache.get({ dataset: 'mnist', trainLimit: 100, testLimit: 50 })).not.toBe(a);

    // A folder without the files fails; once they are there, the same request loads: the
    // failure was not cached (a cached rejection would fail again).
    const dir = mkdtempSync(join(tmpdir(), 'mnist-empty-'));
    const fixable = new DatasetCache(dir);
    await expect(fixable.get({ dataset: 'mnist', trainLimit: 10, testLimit: 10 })).rejects.toThrow(dir);
    for (const split of Object.values(IDX_FILE_NAMES)) {
      for (const file of Object.values(split)) symlinkSync(join(defaultDatasetDir('mnist'), file), join(dir, file));
    }
    expect((await fixable.get({ dataset: 'mnist', trainLimit: 10, testLimit: 10 })).train.count).toBe(10);
  });
});
