import { describe, expect, it } from 'vitest';
import type { EpochRecord } from '@mnist/protocol';
import { renderMetricsTable } from './metrics-table.js';
import { seedCustomMLP, seedLeNet5 } from './seed-fixture.js';

// Section 3-1 of the seed study, verbatim.
const SEED_TABLE = `| Model | Epoch | Train Loss | Train Accuracy | Test Loss | Test Accuracy |
| --- | --- | --- | --- | --- | --- |
| LeNet5 | 1 | 0.2902 | 90.47% | 0.0653 | 97.93% |
|  | 2 | 0.0631 | 98.02% | 0.0553 | 98.26% |
|  | 3 | 0.0456 | 98.60% | 0.0425 | 98.61% |
|  | 4 | 0.0353 | 98.92% | 0.0314 | 98.96% |
|  | 5 | 0.0291 | 99.07% | 0.0357 | 98.84% |
|  | 6 | 0.0253 | 99.21% | 0.0392 | 98.78% |
|  | 7 | 0.0202 | 99.34% | 0.0371 | 98.80% |
|  | 8 | 0.0164 | 99.48% | 0.0318 | 99.02% |
|  | 9 | 0.0146 | 99.55% | 0.0403 | 98.76% |
|  | 10 | 0.0137 | 99.55% | 0.0368 | 99.03% |
| CustomMLP | 1 | 0.4089 | 87.33% | 0.1556 | 95.25% |
|  | 2 | 0.1370 | 95.87% | 0.1176 | 96.36% |
|  | 3 | 0.0997 | 96.94% | 0.0975 | 97.01% |
|  | 4 | 0.0775 | 97.58% | 0.1164 | 96.38% |
|  | 5 | 0.0643 | 97.97% | 0.0970 | 97.09% |
|  | 6 | 0.0512 | 98.39% | 0.0980 | 97.12% |
|  | 7 | 0.0460 | 98.52% | 0.0964 | 97.60% |
|  | 8 | 0.0384 | 98.79% | 0.0924 | 97.44% |
|  | 9 | 0.0339 | 98.88% | 0.1127 | 97.01% |
|  | 10 | 0.0304 | 99.01% | 0.0931 | 97.63% |
`;

const record = (epoch: number, over: Partial<EpochRecord> = {}): EpochRecord => ({
  epoch,
  trainLoss: 0.5,
  trainAcc: 0.9,
  testLoss: 0.25,
  testAcc: 0.95,
  seconds: 1,
  imagesPerSec: 100,
  backend: 'cpu',
  ...over,
});

describe('renderMetricsTable', () => {
  it('reproduces the seed table for LeNet5 and CustomMLP exactly', () => {
    expect(renderMetricsTable([seedLeNet5(), seedCustomMLP()])).toBe(SEED_TABLE);
  });

  it('names the model on the first row of its block only', () => {
    const lines = renderMetricsTable([seedLeNet5()]).trimEnd().split('\n');
    expect(lines[2]).toBe('| LeNet5 | 1 | 0.2902 | 90.47% | 0.0653 | 97.93% |');
    expect(lines[3]).toBe('|  | 2 | 0.0631 | 98.02% | 0.0553 | 98.26% |');
    expect(lines).toHaveLength(2 + 10);
  });

  it('orders epochs, keeps the last of a duplicated epoch, and leaves gaps as gaps', () => {
    const table = renderMetricsTable([
      { title: 'm', model: 'mlp', records: [record(3), record(1, { testAcc: 0.1 }), record(1, { testAcc: 0.5 })] },
    ]);
    expect(table.trimEnd().split('\n').slice(2)).toEqual([
      '| m | 1 | 0.5000 | 90.00% | 0.2500 | 50.00% |',
      '|  | 3 | 0.5000 | 90.00% | 0.2500 | 95.00% |',
    ]);
  });

  it('keeps a run without records visible and escapes pipes in titles', () => {
    const table = renderMetricsTable([{ title: 'a|b', model: 'mlp', records: [] }]);
    expect(table).toContain('| a\\|b | – | – | – | – | – |');
  });
});
