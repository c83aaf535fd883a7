import { describe, expect, it } from 'vitest';
import { formatDuration, formatLoss, formatPercent, formatPoints } from './format.js';

describe('format', () => {
  it('matches the seed: losses to 4 decimals, accuracies as percentages to 2', () => {
    expect(formatLoss(0.137)).toBe('0.1370');
    expect(formatPercent(0.986)).toBe('98.60%');
    expect(formatPoints(0.9903 - 0.9763)).toBe('1.40');
  });

  it('prints durations at a useful precision', () => {
    expect(formatDuration(42.04)).toBe('42.0 s');
    expect(formatDuration(185)).toBe('3 min 05 s');
    expect(formatDuration(3725)).toBe('1 h 02 min');
    expect(formatDuration(Number.NaN)).toBe('unknown');
  });
});
