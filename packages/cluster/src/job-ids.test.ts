import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { jobIdForKey, newJobId } from './job-ids.js';

describe('job ids', () => {
  it('newJobId: j-<time base36>-<8 base36 chars>, sorting by time', () => {
    const ids = Array.from({ length: 200 }, () => newJobId(1_700_000_000_000));
    for (const id of ids) expect(id).toMatch(/^j-[0-9a-z]+-[0-9a-z]{8}$/);
    expect(new Set(ids).size).toBe(200);
    expect(newJobId(1_700_000_000_000) < newJobId(1_800_000_000_000)).toBe(true);
  });

  it('jobIdForKey: the first 32 base64url characters of the key\'s SHA-256 (the ids Node\'s crypto made before)', async () => {
    for (const key of ['key-1', '3f2a9c1e-uuid-like', '~!@#$%^&*()_+', 'ü']) {
      const expected = `k-${createHash('sha256').update(key).digest('base64url').slice(0, 32)}`;
      expect(await jobIdForKey(key)).toBe(expected);
    }
  });
});
