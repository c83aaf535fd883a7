import { describe, expect, it } from 'vitest';
import { standAsideMs } from './task-loop.js';

describe('standing aside after a job went back for want of trainers', () => {
  it('2-6 recruit windows at first, doubling with each failure in a row up to 4x', () => {
    expect([0, 1].map((r) => standAsideMs(300, 1, r))).toEqual([600, 1_800]);
    expect([0, 1].map((r) => standAsideMs(300, 2, r))).toEqual([1_200, 3_600]);
    expect([0, 1].map((r) => standAsideMs(300, 3, r))).toEqual([2_400, 7_200]);
    expect(standAsideMs(300, 9, 1)).toBe(7_200);
  });
});
