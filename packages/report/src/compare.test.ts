import { describe, expect, it } from 'vitest';
import { compareRuns, summarizeRun } from './compare.js';
import { seedCustomMLP, seedLeNet5, seedRegularizedLeNet5 } from './seed-fixture.js';

describe('compareRuns on the seed numbers', () => {
  const c = compareRuns([seedLeNet5(), seedCustomMLP()]);
  const [lenet, mlp] = c.runs;

  it('summarises each run: final, best, first epoch at 98%, gaps', () => {
    expect(lenet?.final?.testAcc).toBeCloseTo(0.9903, 10);
    expect(lenet?.bestTestAcc).toEqual({ value: 0.9903, epoch: 10 });
    expect(lenet?.bestTestLoss).toEqual({ value: 0.0314, epoch: 4 });
    expect(lenet?.firstEpochAtThreshold).toBe(2);
    expect(lenet?.accuracyGap).toBeCloseTo(0.9955 - 0.9903, 10);
    expect(lenet?.lossGap).toBeCloseTo(0.0368 - 0.0137, 10);
    expect(mlp?.firstEpochAtThreshold).toBeUndefined();
    expect(mlp?.bestTestAcc).toEqual({ value: 0.9763, epoch: 10 });
    expect(mlp?.accuracyGap).toBeCloseTo(0.0138, 10);
  });

  it('ranks LeNet5 first by 1.40 points and 59% fewer errors', () => {
    expect(c.ranking).toEqual(['LeNet5', 'CustomMLP']);
    expect(c.margins).toHaveLength(1);
    const [m] = c.margins;
    expect(m?.better).toBe('LeNet5');
    expect(m?.worse).toBe('CustomMLP');
    expect((m?.accuracyDelta ?? 0) * 100).toBeCloseTo(1.4, 10);
    expect(m?.errorReduction).toBeCloseTo((0.0237 - 0.0097) / 0.0237, 10);
  });

  it('orders learning speed by the epoch reaching 98%, then first-epoch accuracy', () => {
    expect(c.speedRanking).toEqual(['LeNet5', 'CustomMLP']);
    const three = compareRuns([seedLeNet5(), seedCustomMLP(), seedRegularizedLeNet5()]);
    expect(three.speedRanking).toEqual(['RegularizedLeNet5', 'LeNet5', 'CustomMLP']);
    expect(three.ranking).toEqual(['RegularizedLeNet5', 'LeNet5', 'CustomMLP']);
    expect(three.margins.map((m) => m.worse)).toEqual(['LeNet5', 'CustomMLP']);
  });

  it('takes a custom threshold', () => {
    expect(compareRuns([seedCustomMLP()], { threshold: 0.97 }).runs[0]?.firstEpochAtThreshold).toBe(3);
  });
});

describe('compareRuns edge cases', () => {
  it('handles one run, one epoch, no records and missing epochs', () => {
    const lenet = seedLeNet5();
    const c = compareRuns([
      { ...lenet, records: lenet.records.slice(0, 1) },
      { title: 'empty', model: 'mlp', records: [] },
    ]);
    expect(c.ranking).toEqual(['LeNet5']);
    expect(c.margins).toEqual([]);
    expect(c.runs[0]?.final).toBe(c.runs[0]?.first);
    expect(c.runs[1]).toMatchObject({ epochs: 0, final: undefined, bestTestAcc: undefined });

    const gappy = summarizeRun({ ...lenet, records: lenet.records.filter((r) => r.epoch % 3 !== 0) });
    expect(gappy.missingEpochs).toEqual([3, 6, 9]);
    expect(gappy.epochs).toBe(7);
  });

  it('keeps the earliest epoch when the best value repeats', () => {
    const lenet = seedLeNet5();
    const records = lenet.records.map((r) => ({ ...r, testAcc: 0.99 }));
    expect(summarizeRun({ ...lenet, records }).bestTestAcc).toEqual({ value: 0.99, epoch: 1 });
  });
});
