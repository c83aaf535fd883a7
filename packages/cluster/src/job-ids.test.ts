import { describe, expect, it } from 'vitest';
import { isKeyedJobId, jobIdForKey, newJobId } from './job-ids.js';

describe('job ids', () => {
  it('newJobId: j-<time base36>-<8 base36 chars>, sorting by time', () => {
    const ids = Array.from({ length: 200 }, () => newJobId(1_700_000_000_000));
    for (const id of ids) expect(id).toMatch(/^j-[0-9a-z]+-[0-9a-z]{8}$/);
    expect(new Set(ids).size).toBe(200);
    expect(newJobId(1_700_000_000_000) < newJobId(1_800_000_000_000)).toBe(true);
  });

  it('jobIdForKey: same key, same id; a UUIDv7 key gives its time, so keyed ids sort by submit time too', async () => {
    const v7 = (ms: number, tail: string) =>
      `${ms
        .toString(16)
        .padStart(12, '0')
        .replace(/^(.{8})(.{4})$/, '$1-$2')}-7abc-8def-${tail}`;
    const early = v7(1_700_000_000_000, '0123456789ab');
    const late = v7(1_800_000_000_000, '0123456789ab');
    expect(await jobIdForKey(early)).toBe(await jobIdForKey(early));
    expect(await jobIdForKey(early)).toMatch(new RegExp(`^j-${(1_700_000_000_000).toString(36)}-[0-9a-z]{10}$`));
    expect((await jobIdForKey(early)) < (await jobIdForKey(late))).toBe(true);
    expect(await jobIdForKey(v7(1_700_000_000_000, 'ffffffffffff'))).not.toBe(await jobIdForKey(early));
    for (const key of ['key-1', '~!@#$%^&*()_+', 'ü']) expect(await jobIdForKey(key)).toMatch(/^j-0-[0-9a-z]{10}$/);
    expect(isKeyedJobId(await jobIdForKey('key-1'))).toBe(true);
    expect(isKeyedJobId(newJobId())).toBe(false);
    expect(isKeyedJobId(`k-${'A'.repeat(32)}`)).toBe(true);
  });
});
