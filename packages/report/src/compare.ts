import type { EpochRecord } from '@mnist/protocol';
import { missingEpochs, orderedRecords } from './records.js';
import type { RunMetrics } from './types.js';

/** The accuracy that counts as "learned MNIST" in the seed study's discussion. */
export const DEFAULT_ACCURACY_THRESHOLD = 0.98;

export interface AtEpoch {
  value: number;
  epoch: number;
}

/** One run's numbers that the comparison talks about. Accuracies are fractions 0..1. */
export interface RunSummary {
  title: string;
  model: string;
  /** Epochs recorded (after dropping duplicates). */
  epochs: number;
  /** Epochs absent between 1 and the last recorded one. */
  missingEpochs: number[];
  first?: EpochRecord;
  final?: EpochRecord;
  bestTestAcc?: AtEpoch;
  bestTestLoss?: AtEpoch;
  /** First epoch whose test accuracy reaches the threshold; undefined if none does. */
  firstEpochAtThreshold?: number;
  /** Final train accuracy minus final test accuracy (positive = overfitting). */
  accuracyGap?: number;
  /** Final test loss minus final train loss. */
  lossGap?: number;
}

/** How much better `better` generalises than `worse`, by final test accuracy. */
export interface Margin {
  better: string;
  worse: string;
  /** Difference in final test accuracy, as a fraction (0.014 = 1.40 percentage points). */
  accuracyDelta: number;
  /** (worse error - better error) / worse error, 0..1; 0 when worse has no errors. */
  errorReduction: number;
}

export interface Comparison {
  threshold: number;
  runs: RunSummary[];
  /** Titles of runs with records, highest final test accuracy first. */
  ranking: string[];
  /** The leader against every other run, in ranking order. */
  margins: Margin[];
  /**
   * Titles ordered by learning speed: earliest epoch at the threshold first, ties and
   * runs that never reach it ordered by their first epoch's test accuracy.
   */
  speedRanking: string[];
}

function extreme(
  records: readonly EpochRecord[],
  pick: (r: EpochRecord) => number,
  better: (a: number, b: number) => boolean,
): AtEpoch | undefined {
  let best: AtEpoch | undefined;
  for (const r of records) {
    const value = pick(r);
    // Strict comparison keeps the earliest epoch on ties; NaN never wins.
    if (best === undefined ? Number.isFinite(value) : better(value, best.value)) best = { value, epoch: r.epoch };
  }
  return best;
}

export function summarizeRun(run: RunMetrics, threshold = DEFAULT_ACCURACY_THRESHOLD): RunSummary {
  const records = orderedRecords(run.records);
  const first = records[0];
  const final = records.at(-1);
  return {
    title: run.title,
    model: run.model,
    epochs: records.length,
    missingEpochs: missingEpochs(records),
    first,
    final,
    bestTestAcc: extreme(
      records,
      (r) => r.testAcc,
      (a, b) => a > b,
    ),
    bestTestLoss: extreme(
      records,
      (r) => r.testLoss,
      (a, b) => a < b,
    ),
    firstEpochAtThreshold: records.find((r) => r.testAcc >= threshold)?.epoch,
    accuracyGap: final && final.trainAcc - final.testAcc,
    lossGap: final && final.testLoss - final.trainLoss,
  };
}

export function compareRuns(runs: readonly RunMetrics[], options: { threshold?: number } = {}): Comparison {
  const threshold = options.threshold ?? DEFAULT_ACCURACY_THRESHOLD;
  const summaries = runs.map((run) => summarizeRun(run, threshold));
  type WithData = RunSummary & { final: EpochRecord; first: EpochRecord };
  const withData = summaries.filter((s): s is WithData => !!s.final && !!s.first);

  const ranked = [...withData].sort((a, b) => b.final.testAcc - a.final.testAcc);
  const [leader, ...rest] = ranked;
  const margins: Margin[] = leader
    ? rest.map((other) => {
        const leaderError = 1 - leader.final.testAcc;
        const otherError = 1 - other.final.testAcc;
        return {
          better: leader.title,
          worse: other.title,
          accuracyDelta: leader.final.testAcc - other.final.testAcc,
          errorReduction: otherError > 0 ? (otherError - leaderError) / otherError : 0,
        };
      })
    : [];

  const speedKey = (s: RunSummary) => s.firstEpochAtThreshold ?? Number.POSITIVE_INFINITY;
  const speed = [...withData].sort((a, b) => speedKey(a) - speedKey(b) || b.first.testAcc - a.first.testAcc);

  return {
    threshold,
    runs: summaries,
    ranking: ranked.map((s) => s.title),
    margins,
    speedRanking: speed.map((s) => s.title),
  };
}
