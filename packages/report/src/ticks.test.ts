import { describe, expect, it } from 'vitest';
import { decimalsFor, linear, niceScale, niceStep, ticksBetween } from './ticks.js';

describe('ticks', () => {
  it('picks 1-2-5 steps', () => {
    expect([0.013, 0.03, 0.07, 0.4, 2.4, 9].map((r) => niceStep(r))).toEqual([0.01, 0.02, 0.05, 0.5, 2, 10]);
    expect(niceStep(0.3, 1)).toBe(1);
  });

  it('ends a scale on ticks that cover the data, without float noise', () => {
    expect(niceScale(0, 0.42, 5)).toEqual({ lo: 0, hi: 0.5, step: 0.1, ticks: [0, 0.1, 0.2, 0.3, 0.4, 0.5] });
    expect(niceScale(86.7, 100, 5).ticks).toEqual([86, 88, 90, 92, 94, 96, 98, 100]);
    expect(ticksBetween(0, 0.3, 0.1)).toEqual([0, 0.1, 0.2, 0.3]);
  });

  it('survives degenerate input', () => {
    expect(niceScale(5, 5).hi).toBeGreaterThan(5);
    expect(niceScale(Number.NaN, 1)).toMatchObject({ lo: 0, hi: 1 });
    expect(linear(1, 1, 0, 100)(1)).toBe(50);
  });

  it('knows how many decimals a step needs', () => {
    expect([1, 5, 0.5, 0.05, 0.002].map(decimalsFor)).toEqual([0, 0, 1, 2, 3]);
  });
});
