import { describe, expect, it } from 'vitest';
import { FAULT_KINDS, makeSchedule } from './schedule.js';

describe('makeSchedule', () => {
  it('is the same for the same seed and different for another', () => {
    expect(makeSchedule(7, 600_000)).toEqual(makeSchedule(7, 600_000));
    expect(makeSchedule(8, 600_000)).not.toEqual(makeSchedule(7, 600_000));
  });

  it('keeps faults apart and inside the run, and brings every kind within one cycle', () => {
    const faults = makeSchedule(3, 30 * 60_000);
    expect(faults.length).toBeGreaterThanOrEqual(50);
    for (let i = 1; i < faults.length; i++)
      expect(faults[i]!.at).toBeGreaterThan(faults[i - 1]!.at + faults[i - 1]!.ms);
    expect(faults.at(-1)!.at + faults.at(-1)!.ms).toBeLessThanOrEqual(30 * 60_000);
    expect(new Set(faults.slice(0, FAULT_KINDS.length).map((f) => f.kind))).toEqual(new Set(FAULT_KINDS));
  });

  it('draws only the kinds it is given', () => {
    const kinds = FAULT_KINDS.filter((k) => k !== 'link-cut');
    expect(new Set(makeSchedule(3, 30 * 60_000, { kinds }).map((f) => f.kind))).toEqual(new Set(kinds));
  });
});
